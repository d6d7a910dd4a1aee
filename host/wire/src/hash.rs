//! Hash functions of `webqq-protocol.md` §3, with the spec's test vectors.

/// `hash33`: the `ptqrtoken` derived from the `qrsig` cookie (§3.1).
pub fn hash33(s: &str) -> u32 {
    times33(0, s) & 0x7FFF_FFFF
}

/// `bkn`/`g_tk` of the `skey` cookie: `hash33` seeded with 5381 (§3.3).
pub fn bkn(skey: &str) -> u32 {
    times33(5381, skey) & 0x7FFF_FFFF
}

/// Mojo-Webqq's `time33`: like [`hash33`] without the final 31-bit mask (§3.1).
pub fn time33(s: &str) -> u32 {
    times33(0, s)
}

fn times33(seed: u32, s: &str) -> u32 {
    s.encode_utf16()
        .fold(seed, |e, c| e.wrapping_mul(33).wrapping_add(u32::from(c)))
}

/// The friend/group-list `hash` ("hash2", salt `ECOK`) of the account's QQ
/// number and the `ptwebqq` cookie (possibly empty), as 16 uppercase hex
/// characters (§3.2).
pub fn list_hash(uin: u64, ptwebqq: &str) -> String {
    let mut n = [0u32; 4];
    for (i, c) in ptwebqq.encode_utf16().enumerate() {
        n[i % 4] ^= u32::from(c);
    }
    let salt = b"ECOK";
    let uin = uin as u32;
    let v = [
        ((uin >> 24) & 0xFF) ^ u32::from(salt[0]),
        ((uin >> 16) & 0xFF) ^ u32::from(salt[1]),
        ((uin >> 8) & 0xFF) ^ u32::from(salt[2]),
        (uin & 0xFF) ^ u32::from(salt[3]),
    ];
    let mut out = String::with_capacity(16);
    for i in 0..4 {
        out.push_str(&format!("{:02X}{:02X}", n[i] & 0xFF, v[i]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_hash_matches_spec_vectors() {
        let cases: &[(u64, &str, &str)] = &[
            (123456789, "", "004200180082005E"),
            (123456789, "abc", "614262186382005E"),
            (10000, "ptwebqq", "124505430668655B"),
            (
                2609717081,
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "00DE00CE00500012",
            ),
            (
                931996776,
                "9f2c1b7e4d6a8c0e5b3f7a1d9c2e4f6b8a0c3e5d7f9b1a2c4e6d8f0a1b3c5d7e",
                "0E7203CE096B0223",
            ),
            (
                4294967295,
                "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                "00BA00BC00B000B4",
            ),
            (1, "x", "78450043004F004A"),
        ];
        for (uin, ptwebqq, want) in cases {
            assert_eq!(
                list_hash(*uin, ptwebqq),
                *want,
                "uin {uin} ptwebqq {ptwebqq:?}"
            );
        }
    }

    #[test]
    fn hash33_and_time33_match_spec_vectors() {
        let cases: &[(&str, u32, u32)] = &[
            ("", 0, 0),
            ("a", 97, 97),
            ("abc", 108966, 108966),
            (
                "hJ9GvNx*oIvLjP5I5dQ19KPa3zwxNI62eALLO*g2JLbKPYsZIRsnbJIxNe74NzQQ",
                1178303247,
                1178303247,
            ),
            ("qrsig-TEST-0123456789", 1388398509, 3535882157),
            (
                "Zp*3T0lO9qX6yM2rVb7Nn1Hc5Wk8Ld4Fg0Js2Ea6Tu9Io3Pk7Yq1Rw5Ex8Cz4Bv0Mn",
                973487595,
                3120971243,
            ),
        ];
        for (s, h33, t33) in cases {
            assert_eq!(hash33(s), *h33, "hash33({s:?})");
            assert_eq!(time33(s), *t33, "time33({s:?})");
        }
    }

    #[test]
    fn bkn_matches_spec_vectors() {
        assert_eq!(bkn("@AbCdEfGhI"), 1358553458);
        assert_eq!(bkn("@0123456789"), 1212383026);
        assert_eq!(bkn(""), 5381);
    }
}
