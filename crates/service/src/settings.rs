//! `settings/:id`: reading and changing settings (admin only).

use crate::Services;
use serde_json::Value;
use std::sync::Arc;
use threadsync_domain::settings::{definition, validate, Settings};
use threadsync_domain::Reject;
use threadsync_domain::{Error, Result, User};

impl Services {
    /// The value of a known setting: needs `view-privileged-setting`
    /// (admins by default), else 403.
    pub fn setting(&self, caller: &User, id: &str) -> Result<Value> {
        self.require_global_permission(caller, "view-privileged-setting")?;
        self.settings()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::from(Reject::SettingNotFound { id: id.to_owned() }))
    }

    /// Changes a setting after checking its type; persisted before the
    /// in-memory snapshot changes, so a restart never loses an answered write.
    pub async fn change_setting(&self, caller: &User, id: &str, value: &Value) -> Result<()> {
        self.require_global_permission(caller, "edit-privileged-setting")?;
        let def = definition(id).ok_or_else(|| Error::from(Reject::SettingNotFound { id: id.to_owned() }))?;
        let value =
            validate(def, value).map_err(|reason| Error::from(Reject::SettingValueInvalid { reason }))?;
        let _one_writer = self.settings_write.lock().await;
        self.store.save_setting(id, &value).await?;
        let mut guard = match self.settings.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut next: Settings = (**guard).clone();
        next.values.insert(id.to_owned(), value);
        *guard = Arc::new(next);
        Ok(())
    }
}
