//! What people write into the record: questions and answers, objections and rulings,
//! reasons and notes. It may run over several lines, but it is text: no NUL and no other
//! control characters, which readers, terminals and exports each take differently, and
//! which make a permanent log entry say more than its words.

/// Whether `text` (already trimmed) is 1 to `max` characters whose only control
/// characters are line feeds, carriage returns and tabs.
pub fn is_written(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.chars().count() <= max
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// Whether `text` (already trimmed) is one line of 1 to `max` characters with no control
/// character at all (names, titles).
pub fn is_line(text: &str, max: usize) -> bool {
    !text.is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_text_may_span_lines_but_carries_no_other_control_character() {
        assert!(is_written("第一行\n第二行\t(附件)", 100));
        assert!(!is_written("", 100));
        assert!(!is_written("abc", 2));
        assert!(!is_written("a\u{0}b", 100));
        assert!(!is_written("a\u{1b}[31mred", 100));
        assert!(!is_written("a\u{85}b", 100));
        assert!(is_line("新疆天山建设工程有限公司", 200));
        assert!(!is_line("two\nlines", 200));
    }
}
