//! The width and height of an image, read from the first bytes of its file
//! without decoding a pixel: PNG, GIF, JPEG, WebP and BMP.
//!
//! Rocket.Chat puts `image_dimensions: {width, height}` in the attachment of
//! a message sharing an image; clients (the mobile app above all) size the
//! image's box from it before the picture arrives, so a timeline does not
//! jump as images load. Rocket.Chat gets the size by decoding the image for
//! its thumbnail; a header says the same for the cost of a few hundred bytes
//! read, and a file whose header lies or is cut short simply gets no
//! dimensions (never an error: the message is sent either way).
//!
//! A JPEG's EXIF orientation (what phones write instead of rotating the
//! pixels) is applied: a portrait photo stored as 4032×3024 with
//! orientation 6 is shown, by browsers and the apps, as 3024×4032, and that
//! is the box the client must reserve.

/// How many leading bytes of a file [`dimensions`] may need: enough for a
/// JPEG whose frame header follows a large EXIF block and colour profile.
pub const HEAD_BYTES: u64 = 256 * 1024;

/// An image's size as shown, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dimensions {
    pub width: u32,
    pub height: u32,
}

/// The size of the image whose file starts with `head`, or `None` when the
/// format is not one of those read here, or the header is cut short, or it
/// says the image is empty.
pub fn dimensions(head: &[u8]) -> Option<Dimensions> {
    let (width, height) = if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(head)?
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        (u32::from(le16(head, 6)?), u32::from(le16(head, 8)?))
    } else if head.starts_with(&[0xFF, 0xD8]) {
        jpeg(head)?
    } else if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        webp(head)?
    } else if head.starts_with(b"BM") {
        bmp(head)?
    } else {
        return None;
    };
    (width > 0 && height > 0).then_some(Dimensions { width, height })
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at + 3)?;
    Some(u32::from(bytes[0]) | u32::from(bytes[1]) << 8 | u32::from(bytes[2]) << 16)
}

/// The first chunk after the signature must be `IHDR`: width, height.
fn png(b: &[u8]) -> Option<(u32, u32)> {
    (b.get(12..16) == Some(b"IHDR")).then_some(())?;
    Some((be32(b, 16)?, be32(b, 20)?))
}

/// Walks the segments to the first frame header (SOF0–SOF15 but DHT, JPG
/// and DAC), noting the EXIF orientation on the way.
fn jpeg(b: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    let mut orientation = 1;
    loop {
        // Markers may be padded with any number of 0xFF bytes.
        while b.get(at) == Some(&0xFF) && b.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        if *b.get(at)? != 0xFF {
            return None;
        }
        let marker = *b.get(at + 1)?;
        at += 2;
        match marker {
            // Markers without a length: TEM, RSTn.
            0x01 | 0xD0..=0xD7 => continue,
            // The image data or its end before any frame header.
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let length = usize::from(be16(b, at)?);
        if length < 2 {
            return None;
        }
        let segment = b.get(at + 2..at + length);
        match marker {
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = u32::from(be16(b, at + 3)?);
                let width = u32::from(be16(b, at + 5)?);
                // Orientations 5 to 8 turn the picture a quarter.
                return Some(if (5..=8).contains(&orientation) { (height, width) } else { (width, height) });
            }
            0xE1 => {
                if let Some(found) = segment.and_then(exif_orientation) {
                    orientation = found;
                }
            }
            _ => {}
        }
        at += length;
    }
}

/// The orientation tag (0x0112) of an APP1 `Exif` segment's first IFD.
fn exif_orientation(segment: &[u8]) -> Option<u16> {
    let tiff = segment.strip_prefix(b"Exif\0\0")?;
    let little = match tiff.get(0..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |at: usize| if little { le16(tiff, at) } else { be16(tiff, at) };
    let u32_at = |at: usize| if little { le32(tiff, at) } else { be32(tiff, at) };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd)?);
    (0..entries).find_map(|i| {
        let entry = ifd + 2 + i * 12;
        // A SHORT value sits in the entry's first two value bytes.
        (u16_at(entry)? == 0x0112).then(|| u16_at(entry + 8)).flatten()
    })
}

fn webp(b: &[u8]) -> Option<(u32, u32)> {
    match b.get(12..16)? {
        // Lossy: after the frame tag and start code, 14-bit sizes.
        b"VP8 " => {
            (b.get(23..26) == Some(&[0x9D, 0x01, 0x2A])).then_some(())?;
            Some((u32::from(le16(b, 26)? & 0x3FFF), u32::from(le16(b, 28)? & 0x3FFF)))
        }
        // Lossless: a signature byte, then 14-bit sizes minus one, packed.
        b"VP8L" => {
            (b.get(20) == Some(&0x2F)).then_some(())?;
            let bits = le32(b, 21)?;
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        // Extended: the canvas size, 24-bit sizes minus one.
        b"VP8X" => Some((le24(b, 24)? + 1, le24(b, 27)? + 1)),
        _ => None,
    }
}

/// The info header's sizes; a negative height means rows stored top-down.
fn bmp(b: &[u8]) -> Option<(u32, u32)> {
    match le32(b, 14)? {
        12 => Some((u32::from(le16(b, 18)?), u32::from(le16(b, 20)?))),
        _ => {
            let width = i32::from_le_bytes(b.get(18..22)?.try_into().ok()?);
            let height = i32::from_le_bytes(b.get(22..26)?.try_into().ok()?);
            Some((width.unsigned_abs(), height.unsigned_abs()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(width: u32, height: u32) -> Option<Dimensions> {
        Some(Dimensions { width, height })
    }

    fn png_of(width: u32, height: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend(width.to_be_bytes());
        b.extend(height.to_be_bytes());
        b.extend([8, 6, 0, 0, 0]);
        b
    }

    /// A JPEG: SOI, an optional EXIF APP1 with an orientation, a DQT, then
    /// the frame header (SOF2, progressive) and the scan.
    fn jpeg_of(width: u16, height: u16, orientation: Option<(u16, bool)>) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        if let Some((value, little)) = orientation {
            let w16 = |v: u16| if little { v.to_le_bytes() } else { v.to_be_bytes() };
            let w32 = |v: u32| if little { v.to_le_bytes() } else { v.to_be_bytes() };
            let mut tiff = Vec::new();
            tiff.extend(if little { b"II" } else { b"MM" });
            tiff.extend(w16(42));
            tiff.extend(w32(8));
            tiff.extend(w16(2)); // two entries: something else, then orientation
            tiff.extend(w16(0x010F)); // Make
            tiff.extend(w16(2));
            tiff.extend(w32(4));
            tiff.extend(b"ACME");
            tiff.extend(w16(0x0112));
            tiff.extend(w16(3)); // SHORT
            tiff.extend(w32(1));
            tiff.extend(w16(value));
            tiff.extend([0, 0]);
            tiff.extend(w32(0));
            let mut app1 = b"Exif\0\0".to_vec();
            app1.extend(tiff);
            b.extend([0xFF, 0xE1]);
            b.extend(u16::try_from(app1.len() + 2).unwrap_or(u16::MAX).to_be_bytes());
            b.extend(app1);
        }
        b.extend([0xFF, 0xDB, 0x00, 0x04, 0x00, 0x00]); // a (short) DQT
        b.extend([0xFF, 0xFF]); // fill bytes before a marker are allowed
        b.extend([0xFF, 0xC2, 0x00, 0x0B, 0x08]);
        b.extend(height.to_be_bytes());
        b.extend(width.to_be_bytes());
        b.extend([0x01, 0x01, 0x11, 0x00]);
        b.extend([0xFF, 0xDA, 0x00, 0x02]);
        b
    }

    #[test]
    fn png_gif_webp_and_bmp_headers() {
        assert_eq!(dimensions(&png_of(640, 480)), dims(640, 480));
        let gif = [b"GIF89a".as_slice(), &[0x20, 0x03, 0x58, 0x02], &[0; 8]].concat();
        assert_eq!(dimensions(&gif), dims(800, 600));
        let vp8 = [
            b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0".as_slice(),
            &[0x30, 0x01, 0x00, 0x9D, 0x01, 0x2A],
            &1920u16.to_le_bytes(),
            &(1080u16 | 0x4000).to_le_bytes(), // the top bits are a scale, not size
        ]
        .concat();
        assert_eq!(dimensions(&vp8), dims(1920, 1080));
        let packed: u32 = (100 - 1) | ((50 - 1) << 14);
        let vp8l = [b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f".as_slice(), &packed.to_le_bytes()].concat();
        assert_eq!(dimensions(&vp8l), dims(100, 50));
        let vp8x =
            [b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0\0\0\0\0".as_slice(), &[0xFF, 0x0F, 0x00], &[0x37, 0x02, 0x00]]
                .concat();
        assert_eq!(dimensions(&vp8x), dims(4096, 568));
        let mut bmp = b"BM".to_vec();
        bmp.extend([0; 12]);
        bmp.extend(40u32.to_le_bytes());
        bmp.extend(300i32.to_le_bytes());
        bmp.extend((-200i32).to_le_bytes());
        assert_eq!(dimensions(&bmp), dims(300, 200));
    }

    #[test]
    fn jpeg_frames_and_exif_orientation() {
        assert_eq!(dimensions(&jpeg_of(4032, 3024, None)), dims(4032, 3024));
        // A phone's portrait photo: stored landscape, shown portrait.
        for little in [true, false] {
            assert_eq!(dimensions(&jpeg_of(4032, 3024, Some((6, little)))), dims(3024, 4032));
            assert_eq!(dimensions(&jpeg_of(4032, 3024, Some((3, little)))), dims(4032, 3024));
        }
        // Cut before the frame header, or a scan before any frame: unknown.
        let whole = jpeg_of(10, 20, None);
        assert_eq!(dimensions(&whole[..whole.len() - 12]), None);
        assert_eq!(dimensions(&[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02]), None);
    }

    #[test]
    fn unknown_empty_cut_or_garbled_headers_have_no_dimensions() {
        assert_eq!(dimensions(b""), None);
        assert_eq!(dimensions(b"%PDF-1.7"), None);
        assert_eq!(dimensions(&png_of(0, 480)), None);
        assert_eq!(dimensions(&png_of(640, 480)[..20]), None);
        // A JPEG segment length below 2 would loop forever if believed.
        assert_eq!(dimensions(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01, 0xFF, 0xC0]), None);
        assert_eq!(dimensions(b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0\0\0\0\0\0\0"), None);
    }

    proptest::proptest! {
        /// Whatever the bytes, reading a header never panics and never
        /// claims an empty image.
        #[test]
        fn any_bytes_are_safe(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512), kind in 0usize..5) {
            let prefix: &[u8] = [b"\x89PNG\r\n\x1a\n".as_slice(), b"GIF89a", &[0xFF, 0xD8], b"RIFF\0\0\0\0WEBP", b"BM"][kind];
            let head = [prefix, &bytes].concat();
            if let Some(found) = dimensions(&head) {
                proptest::prop_assert!(found.width > 0 && found.height > 0);
            }
        }
    }
}
