//! Fixed protocol constants (`webqq-protocol.md` §1, §2).

/// The SmartQQ `clientid`, fixed for every SmartQQ client (§1.5).
pub const CLIENT_ID: u64 = 53_999_199;
/// The SmartQQ application id used by ptlogin (§2.1).
pub const APP_ID: u64 = 501_004_106;
/// The ptlogin domain id (§2.1).
pub const DAID: u64 = 164;

/// Referer expected on `s.web2.qq.com` calls (§1.4).
pub const REFERER_S: &str = "https://s.web2.qq.com/proxy.html?v=20130916001&callback=1&id=1";
/// Referer expected on `d1.web2.qq.com` calls (§1.4).
pub const REFERER_D: &str = "https://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2";

/// Every WebQQ host the client talks to and the simulator serves (§1.1).
pub const HOSTS: &[&str] = &[
    "ui.ptlogin2.qq.com",
    "xui.ptlogin2.qq.com",
    "ssl.ptlogin2.qq.com",
    "ptlogin2.qq.com",
    "ptlogin4.web2.qq.com",
    "w.qq.com",
    "s.web2.qq.com",
    "d1.web2.qq.com",
    "d.web2.qq.com",
    "pinghot.qq.com",
];
