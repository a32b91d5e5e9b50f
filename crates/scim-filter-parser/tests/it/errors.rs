//! Error messages as a SCIM client would read them.

use scim_filter_parser::{
    Error, LimitKind, Limits, Syntax, parse_attr_path, parse_filter, parse_filter_with,
};

#[test]
fn syntax_error_fields_and_detail() {
    let err = parse_filter(r#"emails[type eq "work" and value co "@example.org""#).unwrap_err();
    assert_eq!(
        err,
        Error::Syntax {
            syntax: Syntax::Filter,
            position: 49,
            expected: "'and', 'or' or ']'",
            near: String::new(),
        }
    );
    assert_eq!(err.scim_type(), "invalidFilter");
    assert_eq!(err.detail(), "Invalid filter at position 49 (at the end): expected 'and', 'or' or ']'");
}

#[test]
fn near_text_is_cut_at_twenty_characters_on_char_boundaries() {
    let err = parse_filter("a pr ééééééééééééééééééééééééé").unwrap_err();
    let Error::Syntax { near, position, .. } = err else { panic!("{err:?}") };
    assert_eq!(position, 5);
    assert_eq!(near.chars().count(), 20);
}

#[test]
fn limit_errors_say_which_limit() {
    let limits = Limits { max_len: 10, ..Limits::default() };
    let err = parse_filter_with("userName eq \"bjensen\"", &limits).unwrap_err();
    assert_eq!(err, Error::Limit { syntax: Syntax::Filter, kind: LimitKind::Length, max: 10, position: 10 });
    assert_eq!(err.detail(), "The filter is too long: the limit is 10 bytes");
    assert_eq!(err.scim_type(), "invalidFilter");
}

#[test]
fn attr_path_errors() {
    let err = parse_attr_path("name.").unwrap_err();
    assert_eq!(err.position(), Some(5));
    assert_eq!(err.scim_type(), "invalidFilter");
    assert!(parse_attr_path(" name").is_err());
    assert!(parse_attr_path("name ").is_err());
}

#[test]
fn errors_are_std_errors() {
    let err: Box<dyn std::error::Error> = Box::new(parse_filter("x").unwrap_err());
    assert!(err.to_string().starts_with("Invalid filter at position 1"));
}
