#pragma once

#include <memory>
#include <mlo/hash/object_id.hpp>
#include <string_view>

namespace mlo::hash {

// Incremental SHA-256 over OpenSSL's EVP interface (which uses the CPU's SHA extensions).
class Sha256 {
  public:
    Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    ~Sha256();

    void update(const void* data, size_t size);
    void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
    // Returns the digest; the hasher must not be updated afterwards.
    ObjectId finish();

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

ObjectId sha256_of(std::string_view bytes);

} // namespace mlo::hash
