//! Request parameters read at the edge.
//!
//! An endpoint checks its request in a documented order, and parameter
//! checks interleave with others there: `chat.syncThreadMessages` refuses
//! a server with threads disabled before a missing `tmid`, and a missing
//! `tmid` before a bad `count`. So the edges (a REST handler's query or
//! body, a DDP method's arguments) read every parameter into its type up
//! front, a missing or malformed one becoming the refusal the endpoint
//! answers for it, and the service raises that refusal with `?` when the
//! parameter's turn comes. The service never sees a wire name or a raw
//! string, and the order stays where the rules are.

use crate::{Reject, Timestamp};

/// A parameter's value, or the refusal its endpoint answers for it.
pub type Param<T> = Result<T, Reject>;

/// A required parameter: absent → `missing`.
pub fn required(raw: Option<&str>, missing: Reject) -> Param<&str> {
    raw.ok_or(missing)
}

/// A required parameter that must hold more than white space: absent or
/// blank → `missing`.
pub fn required_text(raw: Option<&str>, missing: Reject) -> Param<&str> {
    raw.filter(|value| !value.trim().is_empty()).ok_or(missing)
}

/// A required parameter, trimmed: absent or blank → `missing`.
pub fn required_trimmed(raw: Option<&str>, missing: Reject) -> Param<&str> {
    raw.map(str::trim).filter(|value| !value.is_empty()).ok_or(missing)
}

/// A required parameter that must not be empty (white space counts as a
/// value): absent or empty → `missing`.
pub fn required_nonempty(raw: Option<&str>, missing: Reject) -> Param<&str> {
    raw.filter(|value| !value.is_empty()).ok_or(missing)
}

/// An optional date (ISO 8601): absent → `None`, not a date → `invalid`.
pub fn optional_date(raw: Option<&str>, invalid: Reject) -> Param<Option<Timestamp>> {
    raw.map(|raw| Timestamp::parse(raw).ok_or(invalid)).transpose()
}

/// A required date (ISO 8601, as [`Timestamp::parse`] reads it): absent →
/// `missing`, not a date → `invalid`.
pub fn required_date(raw: Option<&str>, missing: Reject, invalid: Reject) -> Param<Timestamp> {
    Timestamp::parse(raw.ok_or(missing)?).ok_or(invalid)
}

/// An optional date of a query string (`latest`, `oldest`): not a date →
/// `The "<name>" query parameter must be a valid date.`
pub fn query_date(raw: Option<&str>, name: &str) -> Param<Option<Timestamp>> {
    optional_date(raw, Reject::QueryDateInvalid { name: name.to_owned() })
}

/// An optional flag of a query string: `true`/`1`, `false`/`0`, or
/// `default` when absent; anything else is refused with the name.
pub fn query_flag(raw: Option<&str>, name: &str, default: bool) -> Param<bool> {
    match raw {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(_) => Err(Reject::QueryBoolInvalid { name: name.to_owned() }),
    }
}

/// A required date of a JSON body, refused as Rocket.Chat's body
/// validation words it (`<name>` required, then a valid date).
pub fn body_date(raw: Option<&str>, name: &str) -> Param<Timestamp> {
    required_date(
        raw,
        Reject::BodyParameterRequired { name: name.to_owned() },
        Reject::BodyDateInvalid { name: name.to_owned() },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_required_value_is_refused_only_when_absent() {
        assert_eq!(required(Some("x"), Reject::TmidMissing), Ok("x"));
        assert_eq!(required(Some(""), Reject::TmidMissing), Ok(""));
        assert_eq!(required(None, Reject::TmidMissing), Err(Reject::TmidMissing));
    }

    #[test]
    fn required_text_refuses_blank_values() {
        assert_eq!(required_text(Some(" m "), Reject::MidMissing), Ok(" m "));
        assert_eq!(required_text(Some("  "), Reject::MidMissing), Err(Reject::MidMissing));
        assert_eq!(required_text(None, Reject::MidMissing), Err(Reject::MidMissing));
    }

    #[test]
    fn trimmed_and_nonempty_values() {
        assert_eq!(required_trimmed(Some(" r "), Reject::RidRequired), Ok("r"));
        assert_eq!(required_trimmed(Some(" "), Reject::RidRequired), Err(Reject::RidRequired));
        assert_eq!(required_nonempty(Some(" "), Reject::RoomIdMissing), Ok(" "));
        assert_eq!(required_nonempty(Some(""), Reject::RoomIdMissing), Err(Reject::RoomIdMissing));
        assert_eq!(required_nonempty(None, Reject::RoomIdMissing), Err(Reject::RoomIdMissing));
    }

    #[test]
    fn an_optional_date_is_refused_only_when_given_and_wrong() {
        assert_eq!(optional_date(None, Reject::UpdatedSinceInvalid), Ok(None));
        assert_eq!(optional_date(Some("x"), Reject::UpdatedSinceInvalid), Err(Reject::UpdatedSinceInvalid));
        assert_eq!(
            optional_date(Some("1970-01-01T00:00:00.007Z"), Reject::UpdatedSinceInvalid),
            Ok(Some(Timestamp::from_millis(7)))
        );
    }

    #[test]
    fn query_flags_and_dates_name_their_parameter() {
        assert_eq!(query_flag(None, "inclusive", true), Ok(true));
        assert_eq!(query_flag(Some("0"), "inclusive", true), Ok(false));
        assert_eq!(
            query_flag(Some("yes"), "inclusive", false),
            Err(Reject::QueryBoolInvalid { name: "inclusive".to_owned() })
        );
        assert_eq!(query_date(None, "latest"), Ok(None));
        assert_eq!(
            query_date(Some("x"), "latest"),
            Err(Reject::QueryDateInvalid { name: "latest".to_owned() })
        );
        assert_eq!(
            body_date(None, "oldest"),
            Err(Reject::BodyParameterRequired { name: "oldest".to_owned() })
        );
        assert_eq!(
            body_date(Some("x"), "oldest"),
            Err(Reject::BodyDateInvalid { name: "oldest".to_owned() })
        );
    }

    #[test]
    fn a_date_is_missing_before_it_is_invalid() {
        let (missing, invalid) = (Reject::UpdatedSinceMissing, Reject::UpdatedSinceInvalid);
        assert_eq!(required_date(None, missing.clone(), invalid.clone()), Err(Reject::UpdatedSinceMissing));
        assert_eq!(
            required_date(Some("yesterday"), missing.clone(), invalid.clone()),
            Err(Reject::UpdatedSinceInvalid)
        );
        assert_eq!(
            required_date(Some("1970-01-01T00:00:00.005Z"), missing, invalid),
            Ok(Timestamp::from_millis(5))
        );
    }
}
