//! Arbitrary bytes through every entry point: parse as filter, PATCH path
//! and attribute path; print and re-parse; compile and evaluate against a
//! user. Any panic, overflow or round-trip mismatch is a finding.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_filter_parser::{Limits, Matcher, Schema, parse_attr_path, parse_filter_with, parse_path_with};
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Raised limits so the hard caps, not the defaults, are what is fuzzed.
    let limits = Limits { max_len: 64 * 1024, max_depth: usize::MAX, max_terms: usize::MAX };
    let _ = parse_attr_path(text);
    if let Ok(path) = parse_path_with(text, &limits) {
        let printed = path.to_string();
        assert_eq!(parse_path_with(&printed, &limits).as_ref(), Ok(&path), "{printed}");
    }
    let Ok(filter) = parse_filter_with(text, &limits) else {
        return;
    };
    let printed = filter.to_string();
    assert_eq!(parse_filter_with(&printed, &limits).as_ref(), Ok(&filter), "{printed}");
    let schema = Schema::user();
    if let Ok(m) = Matcher::new(&filter, &schema) {
        let user = json!({
            "userName": "bjensen", "title": "Tour Guide", "active": true, "nickName": "",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984", "manager": {"value": "26118915"}
            }
        });
        let _ = m.matches(&user);
        let _ = m.matches(&json!(null));
    }
});
