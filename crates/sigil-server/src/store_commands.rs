//! `sigil copy` and `sigil backup`: the store moved whole, to another
//! database or to a backup file. The work is the store's
//! (`sigil_store::copy`); this prints what was done.

use std::path::Path;

use anyhow::{Context, anyhow};
use serde_json::json;
use sigil_store::DatabaseUrl;
use sigil_store::copy;

use crate::cli::CopyArgs;
use crate::commands::{open_store, print_json, print_table};
use crate::config::Config;

/// `sigil copy --to DATABASE_URL`.
pub(crate) fn copy(config: &Config, args: &CopyArgs) -> anyhow::Result<()> {
    let target = DatabaseUrl::parse(&args.to).map_err(|e| anyhow!("--to {e}"))?;
    let store = open_store(config)?;
    let copied =
        copy::copy(&store, &target).with_context(|| format!("cannot copy {} to {target}", store.url()))?;
    let total: u64 = copied.tables.iter().map(|(_, rows)| rows).sum();
    if args.output.json {
        let tables: serde_json::Map<String, serde_json::Value> =
            copied.tables.iter().map(|(name, rows)| ((*name).to_owned(), json!(rows))).collect();
        return print_json(&json!({
            "from": store.url().to_string(),
            "to": target.to_string(),
            "rows": total,
            "tables": tables,
        }));
    }
    println!("copied {total} rows from {} to {target}", store.url());
    let rows: Vec<Vec<String>> =
        copied.tables.iter().map(|(name, rows)| vec![(*name).to_owned(), rows.to_string()]).collect();
    print_table(&["TABLE", "ROWS"], &rows);
    Ok(())
}

/// `sigil backup FILE`.
pub(crate) fn backup(config: &Config, file: &Path) -> anyhow::Result<()> {
    let store = open_store(config)?;
    copy::backup(&store, file)?;
    println!("backed up {} to {}", store.url(), file.display());
    Ok(())
}
