#include <mlo/hash/sha256.hpp>
#include <openssl/evp.h>
#include <stdexcept>

namespace mlo::hash {

struct Sha256::Impl {
    EVP_MD_CTX* ctx = nullptr;
    ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
    m_impl->ctx = EVP_MD_CTX_new();
    // Fetching the digest once per hasher is cheap next to hashing any real file.
    if (m_impl->ctx == nullptr || EVP_DigestInit_ex(m_impl->ctx, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("OpenSSL cannot initialise SHA-256");
}

Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;
Sha256::~Sha256() = default;

void Sha256::update(const void* data, size_t size) {
    EVP_DigestUpdate(m_impl->ctx, data, size);
}

ObjectId Sha256::finish() {
    std::array<uint8_t, ObjectId::k_size> digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(m_impl->ctx, digest.data(), &length);
    return ObjectId(digest);
}

ObjectId sha256_of(std::string_view bytes) {
    Sha256 hasher;
    hasher.update(bytes);
    return hasher.finish();
}

} // namespace mlo::hash
