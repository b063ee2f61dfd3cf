//! `count` / `offset` as Rocket.Chat reads them (docs/contract.md#paging-and-shaping).

use threadsync_domain::settings::Settings;
use threadsync_domain::Reject;
use threadsync_domain::{Error, Result};

/// A hard cap on items per response, whatever the settings say: `count=0`
/// ("all") is honoured only up to this many items, so no request can make
/// the server build an unbounded response. **[differs]**
pub const HARD_MAX_COUNT: u64 = 1000;

/// A validated page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub offset: u64,
    pub count: u64,
}

impl Paging {
    /// Reads the raw `count` and `offset` parameters. Missing `count` is
    /// `API_Default_Count`; a larger one is capped at `API_Upper_Count_Limit`;
    /// `count=0` means "all" while `API_Allow_Infinite_Count` is on (bounded by
    /// [`HARD_MAX_COUNT`]). Non-numeric or negative values are refused.
    pub fn from_params(count: Option<&str>, offset: Option<&str>, settings: &Settings) -> Result<Paging> {
        let offset = match offset {
            None | Some("") => 0,
            Some(raw) => parse_non_negative(raw, "offset")?,
        };
        let upper = u64::try_from(settings.api_upper_count_limit()).unwrap_or(100);
        let default = u64::try_from(settings.api_default_count()).unwrap_or(50).min(upper);
        let count = match count {
            None | Some("") => default,
            Some(raw) => match parse_non_negative(raw, "count")? {
                0 if settings.api_allow_infinite_count() => HARD_MAX_COUNT,
                0 => default,
                n => n.min(upper),
            },
        };
        Ok(Paging { offset, count })
    }
}

fn parse_non_negative(raw: &str, name: &str) -> Result<u64> {
    raw.trim().parse::<u64>().map_err(|_| Error::from(Reject::QueryIntInvalid { name: name.to_owned() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_caps_and_errors() {
        let s = Settings::default();
        assert_eq!(Paging::from_params(None, None, &s), Ok(Paging { offset: 0, count: 50 }));
        assert_eq!(Paging::from_params(Some("500"), Some("3"), &s), Ok(Paging { offset: 3, count: 100 }));
        assert_eq!(Paging::from_params(Some("0"), None, &s).map(|p| p.count), Ok(HARD_MAX_COUNT));
        assert!(Paging::from_params(Some("ten"), None, &s).is_err());
        assert!(Paging::from_params(None, Some("-1"), &s).is_err());
    }
}
