//! Every filter example of RFC 7644 §3.4.2.2, with its tree, its canonical
//! form, and its verdict on the RFC 7643 §8.2 example user.

use scim_filter_parser::CompareOp::*;
use scim_filter_parser::{Filter, Schema, matches, parse_filter};
use serde_json::{Value, json};

use crate::build::*;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The RFC 7643 §8.2 "full" user, trimmed to what the examples touch.
pub(crate) fn bjensen() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara", "formatted": "Ms. Barbara J Jensen, III"},
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z"
        },
        ENTERPRISE: {
            "employeeNumber": "701984",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        }
    })
}

fn example(input: &str, expected: Filter, matches_bjensen: bool) {
    let parsed = parse_filter(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    assert_eq!(parsed, expected, "tree of {input}");
    let printed = parsed.to_string();
    assert_eq!(parse_filter(&printed).as_ref(), Ok(&parsed), "reparse of {printed}");
    let got = matches(&parsed, &Schema::user(), &bjensen()).unwrap_or_else(|e| panic!("{input}: {e}"));
    assert_eq!(got, matches_bjensen, "{input} on bjensen");
}

#[test]
fn rfc7644_section_3_4_2_2_examples() {
    let lm = "2011-05-13T04:42:34Z";
    example(r#"userName eq "bjensen""#, c("userName", Eq, s("bjensen")), true);
    example(r#"name.familyName co "O'Malley""#, c("name.familyName", Co, s("O'Malley")), false);
    example(r#"userName sw "J""#, c("userName", Sw, s("J")), false);
    example(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        c("urn:ietf:params:scim:schemas:core:2.0:User:userName", Sw, s("J")),
        false,
    );
    example("title pr", pr("title"), true);
    example(&format!("meta.lastModified gt \"{lm}\""), c("meta.lastModified", Gt, s(lm)), false);
    example(&format!("meta.lastModified ge \"{lm}\""), c("meta.lastModified", Ge, s(lm)), true);
    example(&format!("meta.lastModified lt \"{lm}\""), c("meta.lastModified", Lt, s(lm)), false);
    example(&format!("meta.lastModified le \"{lm}\""), c("meta.lastModified", Le, s(lm)), true);
    example(
        r#"title pr and userType eq "Employee""#,
        and(pr("title"), c("userType", Eq, s("Employee"))),
        true,
    );
    example(r#"title pr or userType eq "Intern""#, or(pr("title"), c("userType", Eq, s("Intern"))), true);
    example(
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        c("schemas", Eq, s(ENTERPRISE)),
        true,
    );
    example(
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        and(
            c("userType", Eq, s("Employee")),
            or(c("emails", Co, s("example.com")), c("emails.value", Co, s("example.org"))),
        ),
        true,
    );
    example(
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        and(
            c("userType", Ne, s("Employee")),
            not(or(c("emails", Co, s("example.com")), c("emails.value", Co, s("example.org")))),
        ),
        false,
    );
    example(
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        and(c("userType", Eq, s("Employee")), c("emails.type", Eq, s("work"))),
        true,
    );
    example(
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        and(
            c("userType", Eq, s("Employee")),
            vp("emails", and(c("type", Eq, s("work")), c("value", Co, s("@example.com")))),
        ),
        true,
    );
    example(
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        or(
            vp("emails", and(c("type", Eq, s("work")), c("value", Co, s("@example.com")))),
            vp("ims", and(c("type", Eq, s("xmpp")), c("value", Co, s("@foo.com")))),
        ),
        true,
    );
}

#[test]
fn rfc7644_figure_1_precedence_and_grouping() {
    // Table 4: "and" binds tighter than "or"; grouping overrides.
    example(
        "title pr or userType pr and active eq false",
        or(pr("title"), and(pr("userType"), c("active", Eq, scim_filter_parser::CompareValue::Bool(false)))),
        true,
    );
    example(
        "(title pr or userType pr) and active eq false",
        and(or(pr("title"), pr("userType")), c("active", Eq, scim_filter_parser::CompareValue::Bool(false))),
        false,
    );
}
