//! Discount arithmetic: integer cents, half-even rounding, per line, and lines that always sum
//! to the discount given.

/// `value × numerator / denominator`, rounded half to even. `denominator` must be positive.
pub fn mul_div_half_even(value: i64, numerator: i64, denominator: i64) -> i64 {
    let product = i128::from(value) * i128::from(numerator);
    let denominator = i128::from(denominator.max(1));
    let quotient = product.div_euclid(denominator);
    let remainder = product.rem_euclid(denominator);
    let twice = remainder * 2;
    let rounded = if twice > denominator || (twice == denominator && quotient % 2 != 0) {
        quotient + 1
    } else {
        quotient
    };
    i64::try_from(rounded).unwrap_or(i64::MAX)
}

/// `percent` off each line, rounded half-even per line, never more than the line; and below
/// 100 % never the whole line, so rounding alone makes nothing free (51 % off three 1¢ lines
/// rounded each to 1¢ off and gave the order away, an attacker's pass found).
pub fn percent_off(lines: &[i64], percent: i64) -> Vec<i64> {
    let percent = percent.clamp(0, 100);
    lines
        .iter()
        .map(|&total| {
            let most = if percent < 100 {
                (total - 1).max(0)
            } else {
                total
            };
            mul_div_half_even(total, percent, 100).min(most)
        })
        .collect()
}

/// `amount` off, shared among the lines in proportion to their totals (half-even per line, the
/// rounding difference given to the largest lines first), never more than a line nor than all
/// of them together. The shares always sum to `min(amount, Σ lines)`.
pub fn amount_off(lines: &[i64], amount: i64) -> Vec<i64> {
    let total: i64 = lines.iter().sum();
    let amount = amount.clamp(0, total);
    if total == 0 {
        return vec![0; lines.len()];
    }
    let mut shares: Vec<i64> = lines
        .iter()
        .map(|&line| mul_div_half_even(line, amount, total).min(line))
        .collect();
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lines[i]));
    let mut diff = amount - shares.iter().sum::<i64>();
    while diff != 0 {
        let before = diff;
        for &i in &order {
            if diff > 0 && shares[i] < lines[i] {
                shares[i] += 1;
                diff -= 1;
            } else if diff < 0 && shares[i] > 0 {
                shares[i] -= 1;
                diff += 1;
            }
            if diff == 0 {
                break;
            }
        }
        if diff == before {
            break;
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percent_below_100_never_takes_a_whole_line() {
        assert_eq!(percent_off(&[1, 1, 1], 51), vec![0, 0, 0]);
        assert_eq!(percent_off(&[50], 99), vec![49]);
        assert_eq!(percent_off(&[1_000, 3], 50), vec![500, 2]);
        assert_eq!(
            percent_off(&[1, 50], 100),
            vec![1, 50],
            "100 % is free on purpose"
        );
        assert_eq!(percent_off(&[0], 50), vec![0]);
    }

    #[test]
    fn rounds_half_to_even() {
        assert_eq!(mul_div_half_even(5, 1, 2), 2); // 2.5 → 2
        assert_eq!(mul_div_half_even(15, 1, 10), 2); // 1.5 → 2
        assert_eq!(mul_div_half_even(25, 1, 10), 2); // 2.5 → 2
        assert_eq!(mul_div_half_even(35, 1, 10), 4); // 3.5 → 4
        assert_eq!(mul_div_half_even(999, 15, 100), 150); // 149.85 → 150
        assert_eq!(mul_div_half_even(1, 1, 3), 0);
    }

    #[test]
    fn percent_discounts_are_per_line_and_never_negative() {
        assert_eq!(percent_off(&[999, 250, 1], 10), vec![100, 25, 0]);
        assert_eq!(percent_off(&[999], 100), vec![999]);
        assert_eq!(percent_off(&[999], 150), vec![999]);
    }

    #[test]
    fn amounts_are_shared_and_sum_exactly() {
        for (lines, amount) in [
            (vec![1000, 1000, 1000], 100),
            (vec![333, 333, 334], 1000),
            (vec![1, 1, 1], 2),
            (vec![999, 1], 500),
            (vec![500, 500], 5000),
            (vec![7, 13, 29, 31], 37),
        ] {
            let shares = amount_off(&lines, amount);
            let total: i64 = lines.iter().sum();
            assert_eq!(
                shares.iter().sum::<i64>(),
                amount.min(total),
                "{lines:?} {amount}"
            );
            for (share, line) in shares.iter().zip(&lines) {
                assert!(
                    (0..=*line).contains(share),
                    "{lines:?} {amount}: {shares:?}"
                );
            }
        }
        assert_eq!(amount_off(&[1000, 1000, 1000], 100), vec![34, 33, 33]);
    }
}
