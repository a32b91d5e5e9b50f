//! Hostile input: limits, deep nesting, long inputs, small stacks.

use std::time::{Duration, Instant};

use scim_filter_parser::{
    Error, LimitKind, Limits, Matcher, Schema, parse_filter, parse_filter_with, parse_path_with,
};
use serde_json::json;

fn nested(depth: usize) -> String {
    format!("{}title pr{}", "(".repeat(depth), ")".repeat(depth))
}

fn chain(terms: usize) -> String {
    vec!["title pr"; terms].join(" and ")
}

fn limit_kind(r: Result<scim_filter_parser::Filter, Error>) -> Option<LimitKind> {
    match r {
        Err(Error::Limit { kind, .. }) => Some(kind),
        _ => None,
    }
}

#[test]
fn default_limits() {
    let d = Limits::default();
    assert!(parse_filter(&nested(d.max_depth)).is_ok());
    assert_eq!(limit_kind(parse_filter(&nested(d.max_depth + 1))), Some(LimitKind::Depth));
    assert!(parse_filter(&chain(d.max_terms)).is_ok());
    assert_eq!(limit_kind(parse_filter(&chain(d.max_terms + 1))), Some(LimitKind::Terms));
    let long = format!("userName eq \"{}\"", "x".repeat(d.max_len));
    assert_eq!(limit_kind(parse_filter(&long)), Some(LimitKind::Length));
}

#[test]
fn depth_counts_parentheses_not_and_brackets() {
    let limits = Limits { max_depth: 3, ..Limits::default() };
    assert!(parse_filter_with(r#"not ((emails[type pr]))"#, &limits).is_ok());
    let err = parse_filter_with(r#"not ((emails[(type pr)]))"#, &limits).unwrap_err();
    assert_eq!(
        err,
        Error::Limit {
            syntax: scim_filter_parser::Syntax::Filter,
            kind: LimitKind::Depth,
            max: 3,
            position: 13
        }
    );
    assert!(err.detail().contains("nests too deeply at position 13: at most 3 levels"));
    let err = parse_path_with("emails[((type pr))]", &Limits { max_depth: 2, ..limits }).unwrap_err();
    assert_eq!(err.scim_type(), "invalidPath");
}

#[test]
fn the_entra_form_counts_two_terms() {
    let limits = Limits { max_terms: 1, ..Limits::default() };
    let err = parse_filter_with(r#"emails[type eq "work"].value eq "x""#, &limits).unwrap_err();
    assert!(err.detail().contains("too many comparisons at position 23"), "{err}");
}

#[test]
fn hostile_inputs_fail_fast() {
    let huge = Limits { max_len: usize::MAX, max_depth: usize::MAX, max_terms: usize::MAX };
    let inputs = [
        "(".repeat(1_000_000),
        "not (".repeat(200_000),
        format!("emails[{}", "(".repeat(500_000)),
        format!("{} ", "a pr and ".repeat(100_000)),
        format!("a eq \"{}", "\\\\".repeat(500_000)),
        " ".repeat(1_000_000),
        format!("a{}", ".a".repeat(500_000)),
        format!("urn{} pr", ":a".repeat(500_000)),
    ];
    for input in &inputs {
        let start = Instant::now();
        let _ = parse_filter_with(input, &huge);
        // Generous: the point is "not quadratic", which would take minutes.
        assert!(start.elapsed() < Duration::from_secs(2), "{}: {:?}", &input[..20], start.elapsed());
    }
}

#[test]
fn hard_caps_keep_the_stack_small() {
    // The largest trees the hard caps allow, parsed, printed, evaluated and
    // dropped on a thread with a 1 MiB stack.
    let run = || {
        let huge = Limits { max_len: usize::MAX, max_depth: usize::MAX, max_terms: usize::MAX };
        let deep = format!(
            "{}title pr{}",
            "not (".repeat(Limits::HARD_MAX_DEPTH),
            ")".repeat(Limits::HARD_MAX_DEPTH)
        );
        let long = chain(Limits::HARD_MAX_TERMS);
        let schema = Schema::user();
        for input in [deep, long] {
            let f = match parse_filter_with(&input, &huge) {
                Ok(f) => f,
                Err(e) => return Err(e.to_string()),
            };
            assert_eq!(parse_filter_with(&f.to_string(), &huge).as_ref(), Ok(&f));
            let m = Matcher::new(&f, &schema).map_err(|e| e.to_string())?;
            m.matches(&json!({"title": "x"}));
        }
        let too_deep = nested(Limits::HARD_MAX_DEPTH + 1);
        assert_eq!(limit_kind(parse_filter_with(&too_deep, &huge)), Some(LimitKind::Depth));
        assert_eq!(
            limit_kind(parse_filter_with(&chain(Limits::HARD_MAX_TERMS + 1), &huge)),
            Some(LimitKind::Terms)
        );
        Ok(())
    };
    let handle = std::thread::Builder::new().stack_size(1 << 20).spawn(run).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(handle.join().ok(), Some(Ok(())));
}
