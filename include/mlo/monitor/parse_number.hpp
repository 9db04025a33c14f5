#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>

namespace mlo::monitor {

namespace detail {

// Clinger's fast path: a decimal whose digits, read as an integer, are at most 2^53, with at most 22
// fraction digits, is an integer exactly representable in a double divided by an exact power of
// ten, and one IEEE division of two exact values is correctly rounded, so the result equals
// from_chars's. Most cells of a data file ("52.3652", "-7", "0.5") take this path; anything else falls back
// to from_chars.
[[gnu::always_inline]] inline bool parse_simple_decimal(const char* first, const char* last, double& out) {
    static constexpr double k_powers[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                          1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                          1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    bool negative = first != last && *first == '-';
    const char* p = first + (negative ? 1 : 0);
    const char* digits_start = p;
    uint64_t mantissa = 0;
    auto digit = [](char c) { return static_cast<unsigned>(c - '0'); };
    while (p != last && digit(*p) < 10)
        mantissa = mantissa * 10 + digit(*p++);
    size_t digits = static_cast<size_t>(p - digits_start), fraction_digits = 0;
    if (p != last && *p == '.') {
        const char* fraction_start = ++p;
        while (p != last && digit(*p) < 10)
            mantissa = mantissa * 10 + digit(*p++);
        fraction_digits = static_cast<size_t>(p - fraction_start);
        digits += fraction_digits;
    }
    // Anything else (exponents, nan, inf, junk) and more than 19 digits (which could overflow the
    // mantissa): from_chars decides. The mantissa must be exact in a double (at most 2^53).
    if (p != last || digits == 0 || digits > 19 || mantissa > (uint64_t{1} << 53) || fraction_digits > 22)
        return false;
    double value = static_cast<double>(mantissa) / k_powers[fraction_digits];
    out = negative ? -value : value;
    return true;
}

} // namespace detail

// A number as the readers accept it: decimal or exponent notation with optional surrounding
// spaces. NaN and infinities parse (and are then treated as missing by the statistics). Inline:
// it runs once per numeric cell, and the caller keeps the value in a register.
[[gnu::always_inline]] inline bool parse_number(std::string_view text, double& out) {
    if (text.empty())
        return false;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    if (*first == ' ' || *(last - 1) == ' ') { // rare: trim
        while (first != last && *first == ' ')
            ++first;
        while (last != first && *(last - 1) == ' ')
            --last;
        if (first == last)
            return false;
    }
    if (*first == '+')
        ++first;
    if (detail::parse_simple_decimal(first, last, out))
        return true;
    auto [ptr, ec] = std::from_chars(first, last, out);
    return ec == std::errc() && ptr == last;
}

} // namespace mlo::monitor
