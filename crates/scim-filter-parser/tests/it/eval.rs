//! The evaluator against RFC 7644 §3.4.2.2's matching rules.

use scim_filter_parser::{AttrType, Attribute, Error, Matcher, Schema, matches, parse_filter};
use serde_json::{Value, json};

use crate::rfc_examples::bjensen;

fn schema() -> Schema {
    Schema::user()
        .attribute(Attribute::new("loginCount", AttrType::Integer))
        .attribute(Attribute::new("score", AttrType::Decimal))
        .attribute(Attribute::new("tags", AttrType::String).multi_valued())
        .attribute(Attribute::new("code", AttrType::String).case_exact())
        .attribute(Attribute::new("blob", AttrType::Binary))
        .attribute(Attribute::new("birth", AttrType::DateTime))
}

fn resource() -> Value {
    let mut r = bjensen();
    let extra = json!({
        "loginCount": 42,
        "score": 3.5,
        "tags": ["Blue", "green"],
        "code": "AbC",
        "blob": "QUJD",
        "birth": "1990-02-03T10:00:00+01:00",
        "nickName": "",
        "displayName": null,
        "phoneNumbers": [],
        "addresses": [{}],
        "x509Certificates": [{"value": null}],
        "name": {"familyName": "Jensen", "givenName": "Barbara"}
    });
    if let (Some(r), Some(extra)) = (r.as_object_mut(), extra.as_object()) {
        r.extend(extra.clone());
    }
    r
}

/// `(filter, expected)` rows evaluated against [`resource`].
fn table(rows: &[(&str, bool)]) {
    let schema = schema();
    let r = resource();
    for (input, expected) in rows {
        let f = parse_filter(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        let got = matches(&f, &schema, &r).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(got, *expected, "{input}");
    }
}

fn check_invalid(input: &str, message: &str) {
    let f = parse_filter(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    match Matcher::new(&f, &schema()) {
        Err(e @ Error::InvalidFilter { .. }) => {
            assert_eq!(e.scim_type(), "invalidFilter");
            assert!(e.detail().contains(message), "{input}: {e}");
        }
        other => panic!("{input}: expected invalidFilter, got {other:?}"),
    }
}

#[test]
fn strings_follow_case_exact() {
    table(&[
        (r#"userName eq "BJENSEN""#, true),
        (r#"USERNAME Eq "bjensen""#, true),
        (r#"userName ne "bjensen""#, false),
        (r#"userName co "JENS""#, true),
        (r#"userName sw "bj""#, true),
        (r#"userName ew "SEN""#, true),
        (r#"userName gt "a""#, true),
        (r#"userName lt "a""#, false),
        (r#"userName ge "bjensen""#, true),
        (r#"userName le "bjensen""#, true),
        (r#"code eq "AbC""#, true),
        (r#"code eq "abc""#, false),
        (r#"code co "b""#, true),
        (r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false),
        (r#"blob eq "QUJD""#, true),
        (r#"blob eq "qujd""#, false),
    ]);
}

#[test]
fn multi_valued_attributes_match_when_any_value_does() {
    table(&[
        (r#"tags eq "blue""#, true),
        (r#"tags eq "GREEN""#, true),
        (r#"tags eq "red""#, false),
        (r#"tags ne "blue""#, true),
        (r#"emails.type eq "home""#, true),
        (r#"emails.value ew "jensen.org""#, true),
        (r#"emails.type eq "other""#, false),
        // Two conditions may be met by different values...
        (r#"emails.type eq "home" and emails.value co "example.com""#, true),
        // ...unless a value filter ties them to one value.
        (r#"emails[type eq "home" and value co "example.com"]"#, false),
        (r#"emails[type eq "work" and value co "example.com"]"#, true),
        (r#"emails[not (type eq "work")]"#, true),
        (r#"emails[primary eq true]"#, true),
        (r#"emails[primary eq false]"#, false),
        (r#"emails co "jensen.org""#, true),
        (r#"emails eq "bjensen@example.com""#, true),
        (r#"emails[type eq "work"].value eq "bjensen@example.com""#, true),
        (r#"emails[type eq "home"].value eq "bjensen@example.com""#, false),
    ]);
}

#[test]
fn numbers_booleans_and_date_times() {
    table(&[
        ("loginCount eq 42", true),
        ("loginCount eq 42.0", true),
        ("loginCount gt 41", true),
        ("loginCount ge 42.5", false),
        ("loginCount lt 1e3", true),
        ("score gt 3", true),
        ("score le 3.5", true),
        ("score eq 3.50", true),
        ("active eq true", true),
        ("active ne true", false),
        ("active eq false", false),
        // 10:00+01:00 is 09:00Z: compared as instants, not as text.
        (r#"birth eq "1990-02-03T09:00:00Z""#, true),
        (r#"birth gt "1990-02-03T09:30:00Z""#, false),
        (r#"birth lt "1990-02-03T09:00:00.001Z""#, true),
        (r#"birth ge "1990-02-03T09:00:00""#, true),
        (r#"meta.created lt "2011-05-13T04:42:34Z""#, true),
        (r#"birth sw "1990""#, true),
    ]);
}

#[test]
fn presence_and_null() {
    table(&[
        ("title pr", true),
        ("nickName pr", false),
        ("displayName pr", false),
        ("phoneNumbers pr", false),
        ("addresses pr", false),
        ("x509Certificates pr", false),
        ("emails pr", true),
        ("emails.display pr", false),
        ("name pr", true),
        ("name.middleName pr", false),
        ("timezone pr", false),
        ("timezone eq null", true),
        ("title eq null", false),
        ("title ne null", true),
        ("nickName eq null", true),
        (r#"timezone eq "x""#, false),
        (r#"timezone ne "x""#, false),
        (r#"not (timezone eq "x")"#, true),
    ]);
}

#[test]
fn extension_attributes_with_and_without_urn() {
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    table(&[
        (&format!("{ent}:employeeNumber eq \"701984\""), true),
        (&format!("{}:EMPLOYEENUMBER eq \"701984\"", ent.to_uppercase()), true),
        ("employeeNumber eq \"701984\"", true),
        (&format!("{ent}:manager.displayName sw \"john\""), true),
        (&format!("{ent}:manager eq \"26118915-6090-4610-87e4-49d8ca9f808d\""), true),
        (&format!("{ent}:manager[displayName co \"Smith\"]"), true),
        ("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq \"jensen\"", true),
        ("department pr", false),
    ]);
}

#[test]
fn keys_in_resources_are_case_insensitive() {
    let r = json!({"USERNAME": "x", "Emails": [{"VALUE": "a@b"}]});
    let f = parse_filter(r#"userName eq "x" and emails.value eq "A@B""#).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(matches(&f, &Schema::user(), &r), Ok(true));
}

#[test]
fn wrong_json_types_in_resources_do_not_match() {
    let r = json!({"userName": 5, "active": "true", "emails": "a@b", "meta": {"created": "yesterday"}});
    let schema = Schema::user();
    for input in [
        r#"userName eq "5""#,
        "active eq true",
        r#"meta.created lt "2030-01-01T00:00:00Z""#,
        r#"emails.value eq "a@b""#,
    ] {
        let f = parse_filter(input).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(matches(&f, &schema, &r), Ok(false), "{input}");
    }
    // A single value where an array was expected is read as one value.
    let f = parse_filter(r#"emails eq "a@b""#).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(matches(&f, &schema, &json!({"emails": {"value": "a@b"}})), Ok(true));
    assert_eq!(matches(&f, &schema, &json!([1, 2])), Ok(false));
    assert_eq!(matches(&f, &schema, &json!(null)), Ok(false));
}

#[test]
fn invalid_filter_combinations() {
    // RFC 7644 §3.4.2.2: ordering on boolean or binary is invalidFilter.
    check_invalid("active gt true", "gt is not defined for boolean attributes");
    check_invalid("active le false", "le is not defined for boolean");
    check_invalid(r#"blob ge "QUJD""#, "ge is not defined for binary");
    check_invalid("active co true", "co needs a string attribute");
    check_invalid("loginCount sw 4", "sw needs a string attribute");
    check_invalid(r#"active eq "true""#, "compare it with true or false");
    check_invalid("userName eq 1", "compare it with a string in double quotes");
    check_invalid(r#"loginCount eq "42""#, "compare it with a number");
    check_invalid(r#"birth gt "yesterday""#, "xsd:dateTime");
    check_invalid("birth eq 1", "xsd:dateTime");
    check_invalid("title gt null", "null can only be compared with eq or ne");
    check_invalid(r#"nope eq "x""#, "no such attribute");
    check_invalid(r#"name.nope eq "x""#, "no such attribute");
    check_invalid(r#"urn:x:userName eq "x""#, "no such attribute");
    check_invalid(r#"name eq "x""#, "no \"value\" sub-attribute");
    check_invalid(r#"userName[value eq "x"]"#, "needs a complex attribute");
    check_invalid(r#"emails[nope eq "x"]"#, "'emails' has no such sub-attribute");
    check_invalid("loginCount eq 1e999", "out of range");
    // Errors surface even where short-circuiting would skip the operand.
    check_invalid(r#"title pr or active gt true"#, "gt is not defined");
}

#[test]
fn matcher_is_reusable() {
    let schema = Schema::user();
    let f = parse_filter(r#"userName sw "b""#).unwrap_or_else(|e| panic!("{e}"));
    let m = Matcher::new(&f, &schema).unwrap_or_else(|e| panic!("{e}"));
    let hits =
        ["bob", "Barbara", "alice", "b"].iter().filter(|u| m.matches(&json!({ "userName": u }))).count();
    assert_eq!(hits, 3);
}
