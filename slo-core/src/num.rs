//! Stable float formatting, shared by every output (JSON, tables, PromQL).
//!
//! Budget math in binary floating point leaves noise in the last digits
//! (`0.02 * 720 = 14.399999999999999`). Outputs round to 15 significant
//! digits, the most a double holds for every decimal: any number written
//! with up to 15 digits (an objective of `99.9999999999999`) prints back
//! exactly, in its shortest form, while the noise of the 16th and 17th
//! digits is gone, so generated files are deterministic and read as people
//! wrote them.
//!
//! ```
//! use slo_core::num;
//!
//! assert_eq!(num::format(0.1 + 0.2), "0.3");
//! assert_eq!(num::format(14.4), "14.4");
//! assert_eq!(num::format(99.9999999999999), "99.9999999999999");
//! assert_eq!(num::round_sig(123.456, 2), 120.0);
//! ```

/// Rounds `x` to `digits` significant decimal digits. NaN and infinities pass
/// through unchanged.
pub fn round_sig(x: f64, digits: i32) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let magnitude = x.abs().log10().floor() as i32;
    // Saturating: `digits` is any i32, and the scale must not overflow.
    let scale = digits.saturating_sub(1).saturating_sub(magnitude);
    if scale > 300 {
        // Below about 1e-289 the scale is past what one power of ten holds
        // (10^309 is infinite). Scale in two steps, round, and let the
        // correctly rounded decimal parser divide: clamping the scale used to
        // drop digits and round anything under 1e-300 to zero.
        let m = (x * 10f64.powi(300) * 10f64.powi(scale - 300)).round();
        return format!("{m}e-{scale}")
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r != 0.0)
            .unwrap_or(x);
    }
    // Scale by a power of ten held exactly (positive exponents) to avoid
    // adding error while rounding.
    if scale >= 0 {
        let p = 10f64.powi(scale);
        let r = (x * p).round() / p;
        if r.is_finite() { r } else { x }
    } else {
        let p = 10f64.powi(scale.saturating_neg().min(300));
        (x / p).round() * p
    }
}

/// Significant digits of every number this crate prints: `f64::DIGITS`,
/// the most that survive decimal -> double -> decimal for every decimal.
pub const DIGITS: usize = f64::DIGITS as usize;

/// Rounds to [`DIGITS`] significant digits: the precision of every number
/// this crate prints. Correctly rounded (through the decimal parser), so a
/// decimal of up to 15 digits comes back as the double it was read as.
pub fn canonical(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    canonical_fast(x).unwrap_or_else(|| canonical_exact(x))
}

/// [`canonical`] through decimal text: always right, but it allocates, and
/// deciding an alert computes a threshold this way.
fn canonical_exact(x: f64) -> f64 {
    format!("{x:.*e}", DIGITS - 1)
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite())
        .unwrap_or(x)
}

/// The powers of ten an `f64` holds exactly.
const EXACT_POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// [`canonical_exact`] by arithmetic where that is provably the same: the
/// 15-digit mantissa `m = |x| * 10^k` is found with one rounded operation by
/// an exact power of ten (error at most 1/16, as `m < 1e15 < 2^50`), so it
/// rounds like the exact decimal unless it lies within 0.1 of a half; then
/// `m / 10^k` of two exact numbers is correctly rounded, as the decimal
/// parser is. `None` where that argument does not hold.
fn canonical_fast(x: f64) -> Option<f64> {
    let a = x.abs();
    let k = DIGITS as i32 - 1 - a.log10().floor() as i32;
    let pow = |k: i32| EXACT_POW10.get(k.unsigned_abs() as usize).copied();
    let scaled = if k >= 0 { a * pow(k)? } else { a / pow(k)? };
    if (scaled - scaled.floor() - 0.5).abs() < 0.1 {
        return None;
    }
    let m = scaled.round();
    if !(1e14..1e15).contains(&m) {
        return None;
    }
    let r = if k >= 0 { m / pow(k)? } else { m * pow(k)? };
    Some(r.copysign(x))
}

/// `a - b` to the precision of the operands: the difference of two numbers
/// near 1 has lost their leading digits (`1 - 0.9995 = 0.000499999999999945`),
/// so it is rounded at the finer of the operands' 15th significant digits,
/// then to [`DIGITS`] of its own.
pub fn difference(a: f64, b: f64) -> f64 {
    let x = a - b;
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    // The finer of the operands' own precisions (15 digits each).
    let decimals = [a, b]
        .iter()
        .filter(|v| v.is_finite() && **v != 0.0)
        .map(|v| DIGITS as i64 - 1 - v.abs().log10().floor() as i64)
        .max()
        .unwrap_or(0)
        .clamp(0, 340) as usize;
    let rounded = format!("{x:.decimals$}").parse::<f64>().unwrap_or(x);
    // All of the difference's digits were noise: keep it rather than call
    // two different numbers equal.
    if rounded == 0.0 {
        canonical(x)
    } else {
        canonical(rounded)
    }
}

/// Formats a number the way PromQL and YAML read it back: shortest
/// round-tripping form of [`canonical`], `NaN`, `+Inf` and `-Inf` for the
/// special values.
pub fn format(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_owned()
    } else if x == f64::INFINITY {
        "+Inf".to_owned()
    } else if x == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        let c = canonical(x);
        // Rust's Display is the shortest round-trip form, never exponent
        // notation; keep very small or large numbers compact.
        if c != 0.0 && (c.abs() < 1e-6 || c.abs() >= 1e15) {
            format!("{c:e}")
        } else {
            format!("{c}")
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// The arithmetic shortcut gives exactly what the decimal text gives.
        #[test]
        fn canonical_fast_equals_the_exact_rounding(
            mantissa in 1.0f64..10.0,
            exp in -30i32..30,
            bits in any::<u64>(),
        ) {
            let from_decimal = mantissa * 10f64.powi(exp);
            let any_double = f64::from_bits(bits);
            for x in [from_decimal, -from_decimal, any_double] {
                if !x.is_finite() || x == 0.0 {
                    continue;
                }
                if let Some(fast) = super::canonical_fast(x) {
                    prop_assert_eq!(fast.to_bits(), super::canonical_exact(x).to_bits(), "x = {:e}", x);
                }
            }
        }
    }

    #[test]
    fn canonical_takes_the_shortcut_for_everyday_numbers() {
        for x in [14.4, 0.001, 0.0144, 99.9 / 100.0, 0.02 * 720.0, 1.0 / 3.0] {
            assert!(super::canonical_fast(x).is_some(), "{x}");
            assert_eq!(canonical(x), super::canonical_exact(x));
        }
    }

    use super::*;

    #[test]
    fn removes_binary_noise() {
        assert_eq!(format(0.02 * 720.0), "14.4");
        assert_eq!(format(1.0 - 0.999), "0.001");
        assert_eq!(format(14.4 * 0.001), "0.0144");
        assert_eq!(format(300.0 * (1.0 - 0.0144)), "295.68");
        assert_eq!(format(3.0), "3");
        assert_eq!(format(1e-7), "1e-7");
        assert_eq!(format(f64::NAN), "NaN");
        assert_eq!(format(f64::INFINITY), "+Inf");
        assert_eq!(format(-0.5), "-0.5");
    }

    #[test]
    fn tiny_numbers_keep_their_digits() {
        // Regression: the scale was clamped to 10^300, so numbers under
        // ~1e-289 lost digits and numbers under 1e-300 rounded to zero (an
        // objective of 1e-300% became a ratio of exactly 0).
        assert_eq!(canonical(1.3682137224860806e-293), 1.36821372248608e-293);
        assert_eq!(canonical(1e-302), 1e-302);
        assert_eq!(canonical(-2.5e-310), -2.5e-310);
        assert_eq!(canonical(f64::MIN_POSITIVE), 2.22507385850720e-308);
        assert!(canonical(5e-324) > 0.0);
        assert_eq!(format(1e-302), "1e-302");
    }

    #[test]
    fn extreme_digit_counts_do_not_overflow() {
        // Regression: `digits - 1 - magnitude` overflowed (a panic in debug
        // builds) for digit counts near i32::MIN or i32::MAX.
        for digits in [i32::MIN, i32::MIN + 1, -1, 0, 400, i32::MAX] {
            for x in [1.5, -2.5e-300, 1e300, 5e-324] {
                assert!(round_sig(x, digits).is_finite(), "{x} to {digits} digits");
            }
        }
        assert_eq!(round_sig(123.456, i32::MAX), 123.456);
    }

    /// Regression (issue 12): numbers printed with 12 significant digits,
    /// so `convert` turned an objective of 99.9999999999999 into 100.
    #[test]
    fn decimals_of_up_to_15_digits_print_exactly() {
        for text in [
            "99.9999999999999",
            "0.999999999999999",
            "123456789012345",
            "0.000123456789012345",
            "14.4",
            "0.1",
            "99.95",
        ] {
            let x: f64 = text.parse().unwrap_or(f64::NAN);
            assert_eq!(format(x), text);
        }
        assert_eq!(format(99.9999999999999 / 100.0), "0.999999999999999");
        assert_eq!(format(difference(1.0, 0.9995)), "0.0005");
        assert_eq!(format(difference(1.0, 0.999999999999999)), "1e-15");
    }

    #[test]
    fn formatted_numbers_parse_back() {
        for x in [0.1, 1.0 / 3.0, 123456.789, 1e-9, 2.5e20, -7.25] {
            let back: f64 = format(x).parse().unwrap_or(f64::NAN);
            assert!((back - x).abs() <= x.abs() * 1e-11, "{x} -> {}", format(x));
        }
    }
}
