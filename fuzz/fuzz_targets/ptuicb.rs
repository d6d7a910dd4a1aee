//! The `ptuiCB(...)` parser and formatter (host/wire/src/ptuicb.rs).
//!
//! Whatever parses formats to a body that parses to the same value
//! (parse ∘ format ∘ parse = parse), and any four fields without `'` survive
//! format → parse; `qr_status` is total.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmqq_wire::ptuicb::PtuiCb;

fuzz_target!(|input: (String, String, String, String, String)| {
    let (body, code, url, message, nick) = input;
    if let Ok(cb) = PtuiCb::parse(&body) {
        let _ = cb.qr_status();
        assert_eq!(PtuiCb::parse(&cb.to_string()), Ok(cb));
    }
    let clean = |s: String| s.replace('\'', "");
    let cb = PtuiCb {
        code: clean(code),
        url: clean(url),
        message: clean(message),
        nick: clean(nick),
    };
    let text = cb.to_string();
    assert!(text.ends_with("');\r\n"));
    assert_eq!(PtuiCb::parse(&text), Ok(cb));
});
