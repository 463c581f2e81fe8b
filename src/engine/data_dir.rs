//! Where the embedded engine's data lives by default, shared by the tools and `server-start`.

use std::path::PathBuf;

use anyhow::Context;

/// Environment variable naming the data dir.
pub const DATA_DIR_ENV: &str = "STREAMLOG_DATA_DIR";

/// The user's default data dir: `$XDG_DATA_HOME/streamlog`, else `~/.local/share/streamlog`.
pub fn default_data_dir() -> anyhow::Result<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("streamlog"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("no data dir: set --data-dir or STREAMLOG_DATA_DIR (HOME is not set)")?;
    Ok(PathBuf::from(home).join(".local/share/streamlog"))
}
