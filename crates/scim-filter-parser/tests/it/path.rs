//! PATCH paths (RFC 7644 §3.5.2), table-driven.

use scim_filter_parser::CompareOp::*;
use scim_filter_parser::{Error, Filter, Name, PatchPath, parse_path};

use crate::build::*;

fn check(input: &str, attr: &str, filter: Option<Filter>, sub: Option<&str>) {
    let expected = PatchPath { attr: path(attr), filter, sub_attr: sub.map(Name::new) };
    let got = parse_path(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
    assert_eq!(got, expected, "{input:?}");
    let printed = got.to_string();
    assert_eq!(parse_path(&printed), Ok(got), "reparse of {printed:?}");
}

fn check_err(input: &str, position: usize, expected: &str) {
    match parse_path(input) {
        Err(e @ Error::Syntax { .. }) => {
            assert_eq!(e.scim_type(), "invalidPath", "{input:?}");
            assert_eq!(e.position(), Some(position), "{input:?}: {e}");
            assert!(e.detail().contains(expected), "{input:?}: {e}");
        }
        other => panic!("{input:?}: {other:?}"),
    }
}

#[test]
fn rfc7644_section_3_5_2_examples() {
    check("members", "members", None, None);
    check("name.familyName", "name.familyName", None, None);
    check(r#"addresses[type eq "work"]"#, "addresses", Some(c("type", Eq, s("work"))), None);
    check(
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
        "members",
        Some(c("value", Eq, s("2819c223-7f76-453a-919d-413861904646"))),
        None,
    );
    check(
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName"#,
        "members",
        Some(c("value", Eq, s("2819c223-7f76-453a-919d-413861904646"))),
        Some("displayName"),
    );
    check(
        r#"addresses[type eq "work"].streetAddress"#,
        "addresses",
        Some(c("type", Eq, s("work"))),
        Some("streetAddress"),
    );
    check(
        r#"emails[type eq "work" and value ew "example.com"]"#,
        "emails",
        Some(and(c("type", Eq, s("work")), c("value", Ew, s("example.com")))),
        None,
    );
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    check(&format!("{ent}:employeeNumber"), &format!("{ent}:employeeNumber"), None, None);
    check(&format!("{ent}:manager.value"), &format!("{ent}:manager.value"), None, None);
    check(
        &format!("{ent}:manager[value pr].displayName"),
        &format!("{ent}:manager"),
        Some(pr("value")),
        Some("displayName"),
    );
    check("members.$ref", "members.$ref", None, None);
    check(r#"members[value eq "1"].$ref"#, "members", Some(c("value", Eq, s("1"))), Some("$ref"));
}

#[test]
fn invalid_paths() {
    check_err("", 0, "expected an attribute name");
    check_err("members[", 8, "expected an attribute name");
    check_err(r#"members[value eq "1""#, 20, "'and', 'or' or ']'");
    check_err(r#"members[value eq "1"]x"#, 21, "'.' and a sub-attribute");
    check_err(r#"members[value eq "1"]."#, 22, "expected an attribute name");
    check_err(r#"members[value eq "1"].a.b"#, 23, "'.' and a sub-attribute");
    check_err("members eq 1", 8, "'[', or the end of the path");
    check_err("a.b.c", 3, "one sub-attribute at most");
    check_err(r#"name.givenName[value eq "1"]"#, 0, "without a sub-attribute");
    check_err("members[a[b pr]]", 9, "cannot be nested");
}
