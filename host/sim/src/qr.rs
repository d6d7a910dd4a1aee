//! The QR code picture served by `ptqrshow`: a real PNG that a phone (or
//! the client's QR decoder) can read.

use std::io::Cursor;

use qrcode::{EcLevel, QrCode};

/// Renders `data` as a PNG QR code (error correction M, 3-pixel modules,
/// quiet zone), or `None` if `data` cannot be encoded.
pub(crate) fn png(data: &str) -> Option<Vec<u8>> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let img = code
        .render::<image::Luma<u8>>()
        .module_dimensions(3, 3)
        .quiet_zone(true)
        .build();
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .ok()?;
    Some(out.into_inner())
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_a_png() {
        let png = super::png("http://txz.qq.com/p?k=abc&f=501004106").unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}
