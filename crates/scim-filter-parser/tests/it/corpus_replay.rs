//! Replays the fuzz seed corpus through parse, print and evaluate: the short
//! corpus run that CI does instead of fuzzing.

use std::path::Path;

use scim_filter_parser::{Limits, Matcher, Schema, parse_filter, parse_path};
use serde_json::json;

#[test]
fn seed_corpus_replays_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse_eval");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    assert!(entries.len() >= 50, "seed corpus has only {} files", entries.len());
    let schema = Schema::user();
    let resource = json!({
        "userName": "bjensen", "title": "Tour Guide", "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "meta": {"lastModified": "2011-05-13T04:42:34Z"}
    });
    let (mut parsed, mut matched) = (0, 0);
    for file in &entries {
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        let _ = parse_path(text);
        if let Ok(f) = parse_filter(text) {
            parsed += 1;
            assert_eq!(parse_filter(&f.to_string()).as_ref(), Ok(&f), "{}", file.display());
            if let Ok(m) = Matcher::new(&f, &schema) {
                matched += usize::from(m.matches(&resource));
            }
        }
        assert!(text.len() <= Limits::default().max_len || parse_filter(text).is_err());
    }
    assert!(parsed > 20, "only {parsed} seeds parse");
    assert!(matched > 0);
}
