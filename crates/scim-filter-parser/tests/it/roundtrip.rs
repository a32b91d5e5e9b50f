//! Property: the canonical form of any tree parses back to that tree.

use proptest::prelude::*;
use scim_filter_parser::{
    AttrPath, CompareOp, CompareValue, Filter, Name, Number, PatchPath, parse_filter, parse_path,
};

fn name() -> BoxedStrategy<Name> {
    prop_oneof![
        8 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
        1 => Just("$ref".to_owned()),
        1 => prop::sample::select(vec!["not", "and", "or", "pr", "eq", "true", "null", "NOT"]).prop_map(str::to_owned),
    ]
    .prop_map(Name::new)
    .boxed()
}

fn urn() -> BoxedStrategy<Name> {
    prop_oneof![
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        Just("urn:ietf:params:scim:schemas:core:2.0:User".to_owned()),
        "[a-zA-Z][a-zA-Z0-9+.-]{0,5}(:[a-zA-Z0-9._~%!$&'*+,;=@/?#-]{1,6}){1,4}",
    ]
    .prop_map(Name::new)
    .boxed()
}

fn top_path() -> BoxedStrategy<AttrPath> {
    (prop::option::of(urn()), name(), prop::option::of(name()))
        .prop_map(|(urn, name, sub_attr)| AttrPath { urn, name, sub_attr })
        .boxed()
}

fn complex_path() -> BoxedStrategy<AttrPath> {
    (prop::option::of(urn()), name()).prop_map(|(urn, name)| AttrPath { urn, name, sub_attr: None }).boxed()
}

fn value() -> BoxedStrategy<CompareValue> {
    prop_oneof![
        any::<String>().prop_map(CompareValue::String),
        "[ -~\u{80}-\u{10ffff}]{0,12}".prop_map(CompareValue::String),
        "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,5})?([eE][+-]?[0-9]{1,3})?"
            .prop_filter_map("json number", |s| Number::parse(&s))
            .prop_map(CompareValue::Number),
        any::<bool>().prop_map(CompareValue::Bool),
        Just(CompareValue::Null),
    ]
    .boxed()
}

fn op() -> BoxedStrategy<CompareOp> {
    prop::sample::select(CompareOp::ALL.to_vec()).boxed()
}

fn leaf(path: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        (path.clone(), op(), value()).prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        path.prop_map(Filter::Present),
    ]
}

/// Filters without value paths, as allowed inside `[ ]` (paths are plain
/// sub-attribute names there).
fn value_filter() -> impl Strategy<Value = Filter> {
    let relative = name().prop_map(AttrPath::new).boxed();
    leaf(relative).prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::and(l, r)),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::or(l, r)),
            inner.prop_map(Filter::not),
        ]
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    let base = prop_oneof![
        3 => leaf(top_path()),
        1 => (complex_path(), value_filter()).prop_map(|(a, f)| Filter::value_path(a, f)),
    ];
    base.prop_recursive(5, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::and(l, r)),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::or(l, r)),
            inner.prop_map(Filter::not),
        ]
    })
}

fn patch_path() -> impl Strategy<Value = PatchPath> {
    prop_oneof![
        top_path().prop_map(|attr| PatchPath { attr, filter: None, sub_attr: None }),
        (complex_path(), value_filter(), prop::option::of(name()))
            .prop_map(|(attr, f, sub_attr)| PatchPath { attr, filter: Some(f), sub_attr }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn display_then_parse_is_identity(f in filter()) {
        let printed = f.to_string();
        let reparsed = parse_filter(&printed);
        prop_assert_eq!(reparsed.as_ref(), Ok(&f), "printed: {}", printed);
        // Names keep their spelling, not just their case-insensitive identity.
        prop_assert_eq!(reparsed.map(|g| g.to_string()), Ok(printed));
    }

    #[test]
    fn patch_path_display_then_parse_is_identity(p in patch_path()) {
        let printed = p.to_string();
        prop_assert_eq!(parse_path(&printed), Ok(p), "printed: {}", printed);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,64}") {
        let _ = parse_filter(&s);
        let _ = parse_path(&s);
    }

    #[test]
    fn mutated_filters_never_panic(f in filter(), cut in any::<prop::sample::Index>(), junk in "[\\[\\]()\" .:\\\\a-z]{0,3}") {
        let printed = f.to_string();
        let mut at = cut.index(printed.len() + 1);
        while !printed.is_char_boundary(at) {
            at -= 1;
        }
        let mutated = format!("{}{}{}", &printed[..at], junk, &printed[at..]);
        if let Ok(g) = parse_filter(&mutated) {
            prop_assert_eq!(parse_filter(&g.to_string()), Ok(g));
        }
    }
}
