#include <mlo/hash/object_id.hpp>

namespace mlo::hash {

namespace {
int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}
} // namespace

Result<ObjectId> ObjectId::parse_hex(std::string_view hex) {
    if (hex.size() != 2 * k_size)
        return fail(ErrorCode::input, "bad object id '" + std::string(hex) + "': expected 64 hex digits");
    std::array<uint8_t, k_size> bytes{};
    for (size_t i = 0; i < k_size; ++i) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return fail(ErrorCode::input,
                        "bad object id '" + std::string(hex) + "': expected lowercase hex digits");
        bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    return ObjectId(bytes);
}

Result<ObjectId> ObjectId::parse(std::string_view text) {
    constexpr std::string_view k_prefix = "sha256:";
    if (text.substr(0, k_prefix.size()) != k_prefix)
        return fail(ErrorCode::input, "bad object id '" + std::string(text) + "': expected sha256:<hex>");
    return parse_hex(text.substr(k_prefix.size()));
}

std::string ObjectId::hex() const {
    static constexpr char k_digits[] = "0123456789abcdef";
    char out[2 * k_size];
    for (size_t i = 0; i < k_size; ++i) {
        out[2 * i] = k_digits[m_bytes[i] >> 4];
        out[2 * i + 1] = k_digits[m_bytes[i] & 0xf];
    }
    return std::string(out, sizeof out);
}

bool ObjectId::is_zero() const {
    for (auto b : m_bytes)
        if (b != 0)
            return false;
    return true;
}

} // namespace mlo::hash
