//! The askama templates (files in `templates/`); one struct per page, and the values they show
//! (re-exported by [`super`]). Everything interpolated is HTML-escaped (`.html` templates
//! escape by default) and every attribute is double-quoted.

use askama::Template;

/// The application asking for access, as a person should see it.
#[derive(Debug, Clone, Copy)]
pub struct ClientInfo<'a> {
    /// The client's `name` (client-controlled: always escaped).
    pub name: &'a str,
    /// The host the person will be sent back to (the redirect URI's host), or `None` for the
    /// device grant.
    pub redirect_host: Option<&'a str>,
    /// The hosts of the protected resources the access is for (RFC 8707), each once.
    pub resource_hosts: &'a [&'a str],
}

/// One scope, with its description in words.
#[derive(Debug, Clone, Copy)]
pub struct ScopeInfo<'a> {
    pub name: &'a str,
    pub description: &'a str,
}

/// The signed-in person.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    pub username: &'a str,
    /// Display name; may be empty.
    pub name: &'a str,
}

/// A "Continue with {name}" button of the sign-in page: an upstream identity provider.
#[derive(Debug, Clone)]
pub struct ProviderButton {
    /// The provider's name (operator-chosen: escaped like everything else).
    pub name: String,
    /// `/login/{provider_id}?return_to=…`.
    pub href: String,
}

#[derive(Template)]
#[template(path = "login.html", whitespace = "minimize")]
pub(super) struct LoginPage<'a> {
    pub csrf: &'a str,
    pub return_to: &'a str,
    pub username: &'a str,
    pub failed: bool,
    pub client: Option<ClientInfo<'a>>,
    pub providers: &'a [ProviderButton],
}

#[derive(Template)]
#[template(path = "consent.html", whitespace = "minimize")]
pub(super) struct ConsentPage<'a> {
    pub csrf: &'a str,
    pub person: Person<'a>,
    pub client: ClientInfo<'a>,
    /// The host of a metadata-document client's URL.
    pub client_host: Option<&'a str>,
    pub scopes: &'a [ScopeInfo<'a>],
    pub action: &'a str,
    pub hidden: &'a [(&'a str, &'a str)],
}

#[derive(Template)]
#[template(path = "logout.html", whitespace = "minimize")]
pub(super) struct LogoutPage<'a> {
    pub csrf: &'a str,
    pub person: Option<Person<'a>>,
}

#[derive(Template)]
#[template(path = "signed_in.html", whitespace = "minimize")]
pub(super) struct SignedInPage<'a> {
    pub person: Person<'a>,
}

#[derive(Template)]
#[template(path = "device_entry.html", whitespace = "minimize")]
pub(super) struct DeviceEntryPage<'a> {
    pub csrf: &'a str,
    pub prefill: &'a str,
    pub problem: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "device_consent.html", whitespace = "minimize")]
pub(super) struct DeviceConsentPage<'a> {
    pub csrf: &'a str,
    pub person: Person<'a>,
    pub client: ClientInfo<'a>,
    pub scopes: &'a [ScopeInfo<'a>],
    /// As given, for the hidden input.
    pub user_code: &'a str,
    /// As shown, `XXXX-XXXX`.
    pub code: &'a str,
}

/// Title, explanation, an optional quieter note and an optional link; no form.
#[derive(Template)]
#[template(path = "message.html", whitespace = "minimize")]
pub(super) struct MessagePage<'a> {
    /// Shows the warning mark instead of the shield (for error statuses).
    pub bad: bool,
    pub title: &'a str,
    pub detail: &'a str,
    pub note: Option<&'a str>,
    pub link: Option<(&'a str, &'a str)>,
}

/// The one stylesheet, inlined in every page by `base.html`. Kept out of the templates' text so
/// that it is compiled into the worker once rather than once per page.
pub(crate) const STYLE: &str = include_str!("../../templates/style.css");

/// The shield mark at the top of every card (inline SVG: no request, allowed by the CSP).
pub(crate) const MARK: &str = include_str!("../../templates/mark.svg");

/// The copy button's script (the console's secret): it shows the button and copies on click.
/// Without JavaScript the button stays hidden and the secret is selectable text.
pub(crate) const COPY_SCRIPT: &str = include_str!("../../templates/copy.js");
/// Its hash, which the CSP of the pages that carry it allows (and nothing else).
pub(crate) const COPY_SCRIPT_HASH: &str = "sha256-beJhSEmJbTuqIhKHen3ki6ErGHcepBlsRyR21UhCJEQ=";
