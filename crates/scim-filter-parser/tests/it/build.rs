//! Terse constructors for expected trees, so tables read like the filters.

use scim_filter_parser::{AttrPath, CompareOp, CompareValue, Filter, Number, parse_attr_path};

pub(crate) fn path(s: &str) -> AttrPath {
    parse_attr_path(s).unwrap_or_else(|e| panic!("bad path {s:?} in a test: {e}"))
}

pub(crate) fn c(p: &str, op: CompareOp, value: CompareValue) -> Filter {
    Filter::compare(path(p), op, value)
}

pub(crate) fn s(v: &str) -> CompareValue {
    CompareValue::String(v.to_owned())
}

pub(crate) fn n(v: &str) -> CompareValue {
    CompareValue::Number(Number::parse(v).unwrap_or_else(|| panic!("bad number {v:?}")))
}

pub(crate) fn pr(p: &str) -> Filter {
    Filter::Present(path(p))
}

pub(crate) fn and(l: Filter, r: Filter) -> Filter {
    Filter::and(l, r)
}

pub(crate) fn or(l: Filter, r: Filter) -> Filter {
    Filter::or(l, r)
}

pub(crate) fn not(f: Filter) -> Filter {
    Filter::not(f)
}

pub(crate) fn vp(p: &str, f: Filter) -> Filter {
    Filter::value_path(path(p), f)
}
