//! Static pages: the cross-domain `proxy.html` pages and the `pingd`
//! statistics beacon (§4.15).

use axum::response::Response;

use crate::http::{self, Req};

/// `GET {w,s.web2,d1.web2}.qq.com/proxy.html`: a trivial proxy page.
pub(crate) fn proxy(req: &Req) -> Response {
    http::html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><script>document.domain='qq.com';</script></head><body>{}</body></html>\n",
        req.host
    ))
}

/// `GET pinghot.qq.com/pingd`: 200, empty body.
pub(crate) fn pingd() -> Response {
    http::html(String::new())
}
