//! Z85 (ZeroMQ base-85) decoding of deletion-vector UUIDs.

const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Decodes Z85 text (length a multiple of 5) into bytes; `None` on a bad character or length.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(5) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 5 * 4);
    for chunk in bytes.chunks(5) {
        let mut value: u64 = 0;
        for &c in chunk {
            let digit = ALPHABET.iter().position(|&a| a == c)? as u64;
            value = value * 85 + digit;
        }
        if value > u64::from(u32::MAX) {
            return None;
        }
        out.extend_from_slice(&(value as u32).to_be_bytes());
    }
    Some(out)
}

/// The UUID (hyphenated, lower case) encoded by a 20-character Z85 string.
pub fn uuid(text: &str) -> Option<String> {
    let b = decode(text)?;
    if b.len() != 16 {
        return None;
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_known_ids() {
        // Both pairs come from the Delta protocol text and real tables.
        assert_eq!(
            super::uuid("WYbkwCTB$gH)J7t?$/sK").as_deref(),
            Some("b6a98cdd-7843-470d-8897-708cdffa38c5")
        );
        assert_eq!(
            super::uuid("^-aqEH.-t@S}K{vb[*k^").as_deref(),
            Some("d2c639aa-8816-431a-aaf6-d3fe2512ff61")
        );
        assert_eq!(super::uuid("short"), None);
        assert_eq!(super::uuid("~~~~~~~~~~~~~~~~~~~~"), None);
    }
}
