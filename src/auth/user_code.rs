//! User codes (RFC 8628 §6.1): 8 characters from an alphabet of 20 consonants (no vowels, so no
//! words; no look-alike characters), shown as `XXXX-XXXX`, entered ignoring case, spaces and
//! dashes. 20^8 ≈ 2.6 × 10^10 codes (34.6 bits); with at most 20 wrong codes per address per
//! failure window, guessing is hopeless within a code's 10-minute life.

use crate::secret::Random;

pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
pub const LEN: usize = 8;

/// A well-formed user code, normalised (upper case, no separators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCode(String);

impl UserCode {
    /// Normalise what a person typed; `None` if it cannot be a code.
    pub fn parse(raw: &str) -> Option<UserCode> {
        let code: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
        (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(UserCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `XXXX-XXXX`.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..4], &self.0[4..])
    }

    /// The Durable Object that holds the flow this code names.
    pub fn object(&self) -> String {
        format!("device:{}", self.0)
    }
}

/// A random code: each character uniformly from the alphabet (bytes ≥ 240 are redrawn, so no
/// letter is likelier than another).
pub fn generate(rng: &mut dyn Random) -> UserCode {
    let mut code = String::with_capacity(LEN);
    let mut byte = [0u8; 1];
    while code.len() < LEN {
        rng.fill(&mut byte);
        if byte[0] < 240 {
            code.push(ALPHABET[usize::from(byte[0]) % ALPHABET.len()] as char);
        }
    }
    UserCode(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeqRng;

    #[test]
    fn entry_ignores_case_spaces_and_dashes() {
        let want = UserCode::parse("BCDF-GHJK").unwrap();
        for typed in ["bcdfghjk", "BCDF GHJK", " b-c-d-f g-h-j-k ", "bcdf-GHJK"] {
            assert_eq!(UserCode::parse(typed), Some(want.clone()), "{typed:?}");
        }
        for bad in ["BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", "", "BCDF_GHJK"] {
            assert_eq!(UserCode::parse(bad), None, "{bad:?}");
        }
        assert_eq!((want.display(), want.object()), ("BCDF-GHJK".to_string(), "device:BCDFGHJK".to_string()));
    }

    #[test]
    fn generated_codes_use_the_whole_alphabet_evenly() {
        let mut rng = SeqRng(1);
        let mut seen = [0u32; 20];
        for _ in 0..2_000 {
            let c = generate(&mut rng);
            assert!(UserCode::parse(c.as_str()).is_some());
            for b in c.as_str().bytes() {
                seen[ALPHABET.iter().position(|&a| a == b).unwrap()] += 1;
            }
        }
        // 16,000 letters: 800 each expected.
        assert!(seen.iter().all(|&n| (650..950).contains(&n)), "{seen:?}");
    }
}
