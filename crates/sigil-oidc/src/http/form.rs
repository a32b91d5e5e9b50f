//! Request parameters from an `application/x-www-form-urlencoded` body.
//!
//! RFC 6749 §3.1/§3.2: parameters sent without a value are treated as
//! omitted, and request parameters MUST NOT be included more than once
//! (except those defined to repeat, such as `audience` and `resource`).

use url::form_urlencoded;

use crate::OidcError;

/// The decoded parameters of one request, in order.
#[derive(Debug, Default)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().filter(|(_, value)| !value.is_empty()).collect())
    }

    /// The one value of `name`, if present; `invalid_request` if repeated.
    pub(crate) fn single(&self, name: &str) -> Result<Option<&str>, OidcError> {
        let mut values = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(OidcError::InvalidRequest(format!("the `{name}` parameter is repeated")));
        }
        Ok(first)
    }

    /// Every value of a parameter that may repeat.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// The first parameter given more than once, other than those named in
    /// `may_repeat` (RFC 6749 §3.1: request parameters MUST NOT be
    /// included more than once).
    pub(crate) fn repeated(&self, may_repeat: &[&str]) -> Option<&str> {
        // A set, not a scan of the earlier names: a body of many distinct
        // names must not cost quadratic time before anyone is authenticated.
        let mut seen = std::collections::HashSet::with_capacity(self.0.len());
        self.0.iter().find_map(|(name, _)| {
            let again = !seen.insert(name.as_str());
            (again && !may_repeat.contains(&name.as_str())).then_some(name.as_str())
        })
    }

    /// The first parameter whose name or value holds a control character
    /// (CR, LF, NUL...), which no OAuth parameter may contain (RFC 6749
    /// Appendix A: values are printable characters).
    pub(crate) fn with_control_characters(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, value)| name.chars().chain(value.chars()).any(char::is_control))
            .map(|(name, _)| name.as_str())
    }

    /// The parameters encoded again, in order: only unreserved characters
    /// and percent escapes, whatever the raw request held, so the result is
    /// safe in a header or a hidden field and parses back to the same form.
    pub(crate) fn encode(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.0 {
            out.append_pair(name, value);
        }
        out.finish()
    }

    /// The value of `name`, which must be present.
    pub(crate) fn required(&self, name: &str) -> Result<&str, OidcError> {
        self.single(name)?
            .ok_or_else(|| OidcError::InvalidRequest(format!("the `{name}` parameter is missing")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_empty_parameters() {
        let form =
            Form::parse(b"grant_type=client_credentials&scope=a+b&scope=c&audience=x&audience=y&empty=");
        assert_eq!(form.required("grant_type").unwrap(), "client_credentials");
        assert!(matches!(form.single("scope"), Err(OidcError::InvalidRequest(_))));
        assert_eq!(form.all("audience"), ["x", "y"]);
        assert_eq!(form.single("empty").unwrap(), None, "an empty value counts as omitted");
        assert!(form.required("missing").is_err());
        assert_eq!(form.repeated(&["audience"]), Some("scope"));
        assert_eq!(form.repeated(&["audience", "scope"]), None);
    }

    #[test]
    fn encoding_again_removes_raw_characters() {
        let form = Form::parse(b"state=a\r\nb&scope=openid+email&x=%00");
        assert_eq!(form.with_control_characters(), Some("state"));
        let encoded = form.encode();
        assert_eq!(encoded, "state=a%0D%0Ab&scope=openid+email&x=%00");
        assert_eq!(Form::parse(encoded.as_bytes()).encode(), encoded);
        assert_eq!(Form::parse(b"scope=openid").with_control_characters(), None);
    }
}
