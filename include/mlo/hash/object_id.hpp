#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mlo/util/error.hpp>
#include <string>
#include <string_view>

namespace mlo::hash {

// A SHA-256 content id. Written in text files as `sha256:<64 lowercase hex>`; its hex equals what
// `sha256sum` prints for the same bytes.
class ObjectId {
  public:
    static constexpr size_t k_size = 32;
    ObjectId() = default;
    explicit ObjectId(const std::array<uint8_t, k_size>& bytes) : m_bytes(bytes) {}

    // Parses `sha256:<64 hex>` (the only accepted form); errors say what is wrong.
    static Result<ObjectId> parse(std::string_view text);
    // Parses bare 64 lowercase hex.
    static Result<ObjectId> parse_hex(std::string_view hex);

    std::string hex() const;
    std::string str() const { return "sha256:" + hex(); }
    const std::array<uint8_t, k_size>& bytes() const { return m_bytes; }
    bool is_zero() const;

    auto operator<=>(const ObjectId&) const = default;

  private:
    std::array<uint8_t, k_size> m_bytes{};
};

} // namespace mlo::hash

template <> struct std::hash<mlo::hash::ObjectId> {
    size_t operator()(const mlo::hash::ObjectId& id) const noexcept {
        size_t value;
        static_assert(sizeof value <= mlo::hash::ObjectId::k_size);
        std::memcpy(&value, id.bytes().data(), sizeof value);
        return value;
    }
};
