//! Showing the login QR code: saved as a PNG and drawn in the terminal.
//!
//! The PNG served by `ptqrshow` is decoded (`rqrr`) and re-encoded with
//! `qrcode`'s Unicode half-block renderer, which gives a crisp, scannable
//! code at one character per two modules. If the image cannot be decoded
//! (an unusual size, noise), its pixels are drawn as half-blocks instead.

use std::path::Path;

use crate::error::{Error, Result};

/// Writes the PNG bytes to `path` (creating the directory).
pub(crate) fn save_png(path: &Path, png: &[u8]) -> Result<()> {
    let io = |source| Error::QrImage {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, png).map_err(io)
}

/// Renders the QR code in `png` as terminal text (Unicode half blocks).
/// Returns an explanatory line when the bytes are not an image.
pub(crate) fn render_terminal(png: &[u8]) -> String {
    let img = match image::load_from_memory(png) {
        Ok(img) => img.to_luma8(),
        Err(e) => return format!("(cannot draw the QR code: {e}; open the PNG instead)"),
    };
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        img.get_pixel(x as u32, y as u32)[0]
    });
    let decoded = prepared
        .detect_grids()
        .into_iter()
        .find_map(|g| g.decode().ok().map(|(_, content)| content));
    if let Some(content) = decoded
        && let Ok(code) = qrcode::QrCode::new(content.as_bytes())
    {
        return code
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build();
    }
    tracing::debug!("QR image did not decode; drawing its pixels");
    draw_pixels(&img)
}

/// Draws a greyscale image as half blocks, scaled to at most 80 columns.
fn draw_pixels(img: &image::GrayImage) -> String {
    let (w, h) = (img.width().max(1), img.height().max(1));
    let step = w.div_ceil(80).max(1);
    let dark = |x: u32, y: u32| x < w && y < h && img.get_pixel(x, y)[0] < 128;
    let mut out = String::new();
    let mut y = 0;
    while y < h {
        let mut x = 0;
        while x < w {
            // Light terminal cells draw dark modules (white-on-black terminals).
            let top = !dark(x, y);
            let bottom = !dark(x, y + step);
            out.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
            x += step;
        }
        out.push('\n');
        y += step * 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_real_qr_png_as_half_blocks() {
        let code = qrcode::QrCode::new(b"https://w.qq.com/login?x=1").unwrap();
        let img = code
            .render::<image::Luma<u8>>()
            .module_dimensions(4, 4)
            .build();
        let mut png = Vec::new();
        image::DynamicImage::ImageLuma8(img)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let text = render_terminal(&png);
        assert!(text.contains('▀') || text.contains('▄'), "{text}");
        let expected = code
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build();
        assert_eq!(text, expected, "decoded and re-rendered");
        assert!(render_terminal(b"not a png").contains("cannot draw"));
    }
}
