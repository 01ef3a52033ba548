// The bridge's native media path: SRTP/SRTCP transforms (RFC 3711 AES-CM with HMAC-SHA1-80,
// RFC 7714 AEAD_AES_128_GCM) over OpenSSL contexts kept for the life of a session, a batch of
// outgoing datagrams written with one sendmmsg(2) per flush, and the media socket itself, read
// with recvmmsg(2) under a libuv poll handle.
//
// Why by hand: Node's crypto API makes a new cipher object per GCM packet (its IV is bound at
// creation) and has no way to keep a hashed HMAC key; and Node's dgram sends one datagram per
// call through libuv's queue (≈ 4 µs each) and receives one per call, each into a fresh 64 KiB
// allocation turned into its own ArrayBuffer, with a new address string and JavaScript call.
// Together they were most of the bridge's CPU per forwarded packet (bench/bridge-load). No npm
// package does SRTP over Node's own OpenSSL or batched UDP on Node's event loop.
//
// The SRTCP index, and the replay windows of incoming SRTCP, stay in TypeScript
// (bridge/transport/srtp-protection.ts). The packet-index bookkeeping of RTP is here, by the same
// rules as srtp-protection.ts's (SsrcTable): incoming SRTP is replay-checked, so that the media
// socket can unprotect it as it reads it, before any JavaScript runs for the datagram
// (UdpSocket::setReceiver); and the rollover counter of outgoing SRTP is kept per SSRC
// (SrtpTransform::ProtectRtp), so that a forwarded copy costs no JavaScript lookup either. The
// functions that take the header length and the ROC or SRTCP index, as
// bridge/transport/srtp-cipher.ts does, must give byte-identical output to it
// (test/unit/bridge/transport/srtp-cipher.test.ts; srtp-protection.test.ts compares the two
// paths' bookkeeping). Every length is checked here: a wrong call returns -1, never reads or
// writes out of bounds.

#include <cmath>
#include <napi.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

constexpr int kProfileAesCmHmacSha1_80 = 1;  // RFC 5764 §4.1.2
constexpr int kProfileAeadAes128Gcm = 7;      // RFC 7714 §14.2
constexpr size_t kKeyLength = 16;
constexpr size_t kSaltLength = 14;
constexpr size_t kGcmIvLength = 12;
constexpr size_t kAuthKeyLength = 20;
constexpr size_t kHmacTag = 10;
constexpr size_t kGcmTag = 16;
constexpr size_t kRtpHeader = 12;
constexpr size_t kRtcpHeader = 8;
constexpr size_t kSrtcpIndexLength = 4;

uint32_t ReadU32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }
void WriteU32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

// HMAC-SHA1 (RFC 2104) with the key's inner and outer pads hashed once: a packet costs two
// SHA_CTX copies and the hashing of its own bytes.
class HmacSha1 {
 public:
  void SetKey(const uint8_t* key, size_t length) {
    uint8_t pad[64];
    memset(pad, 0x36, sizeof pad);
    for (size_t i = 0; i < length; i++) pad[i] ^= key[i];
    SHA1_Init(&inner_);
    SHA1_Update(&inner_, pad, sizeof pad);
    memset(pad, 0x5c, sizeof pad);
    for (size_t i = 0; i < length; i++) pad[i] ^= key[i];
    SHA1_Init(&outer_);
    SHA1_Update(&outer_, pad, sizeof pad);
  }

  // MAC of a || b (b may be empty).
  void Mac(const uint8_t* a, size_t a_length, const uint8_t* b, size_t b_length, uint8_t out[SHA_DIGEST_LENGTH]) const {
    SHA_CTX context = inner_;
    SHA1_Update(&context, a, a_length);
    if (b_length > 0) SHA1_Update(&context, b, b_length);
    uint8_t inner_digest[SHA_DIGEST_LENGTH];
    SHA1_Final(inner_digest, &context);
    context = outer_;
    SHA1_Update(&context, inner_digest, sizeof inner_digest);
    SHA1_Final(out, &context);
  }

 private:
  SHA_CTX inner_;
  SHA_CTX outer_;
};

struct CipherContext {
  EVP_CIPHER_CTX* context = nullptr;
  ~CipherContext() { EVP_CIPHER_CTX_free(context); }
};

// One direction's keys (what one master key and salt protect): SRTP and SRTCP.
class Transform {
 public:
  // Session keys as derived by srtp-cipher.ts's deriveSessionKey (RFC 3711 §4.3, RFC 7714 §11).
  bool Init(int profile, const uint8_t* rtp_key, const uint8_t* rtp_salt, const uint8_t* rtp_auth, const uint8_t* rtcp_key,
            const uint8_t* rtcp_salt, const uint8_t* rtcp_auth) {
    profile_ = profile;
    memcpy(rtp_salt_, rtp_salt, profile == kProfileAeadAes128Gcm ? kGcmIvLength : kSaltLength);
    memcpy(rtcp_salt_, rtcp_salt, profile == kProfileAeadAes128Gcm ? kGcmIvLength : kSaltLength);
    const EVP_CIPHER* cipher = profile == kProfileAeadAes128Gcm ? EVP_aes_128_gcm() : EVP_aes_128_ctr();
    if (!InitContext(rtp_encrypt_, cipher, rtp_key, true) || !InitContext(rtcp_encrypt_, cipher, rtcp_key, true)) return false;
    if (profile == kProfileAeadAes128Gcm) {
      if (!InitContext(rtp_decrypt_, cipher, rtp_key, false) || !InitContext(rtcp_decrypt_, cipher, rtcp_key, false)) return false;
      for (CipherContext* c : {&rtp_encrypt_, &rtcp_encrypt_, &rtp_decrypt_, &rtcp_decrypt_}) {
        if (EVP_CIPHER_CTX_ctrl(c->context, EVP_CTRL_GCM_SET_IVLEN, int(kGcmIvLength), nullptr) != 1) return false;
      }
    } else {
      rtp_auth_.SetKey(rtp_auth, kAuthKeyLength);
      rtcp_auth_.SetKey(rtcp_auth, kAuthKeyLength);
    }
    return true;
  }

  size_t rtp_overhead() const { return profile_ == kProfileAeadAes128Gcm ? kGcmTag : kHmacTag; }
  size_t rtcp_overhead() const { return rtp_overhead() + kSrtcpIndexLength; }

  // Writes the SRTP packet of `in` (header `header` bytes) to `out`; returns its length or -1.
  long EncryptRtp(const uint8_t* in, size_t length, size_t header, uint32_t roc, uint8_t* out, size_t capacity) {
    if (header < kRtpHeader || header > length || capacity < length + rtp_overhead()) return -1;
    if (out != in) memmove(out, in, header);
    const uint32_t ssrc = ReadU32(in + 8);
    const uint16_t seq = uint16_t((in[2] << 8) | in[3]);
    if (profile_ == kProfileAeadAes128Gcm) {
      uint8_t iv[kGcmIvLength];
      GcmRtpIv(ssrc, roc, seq, iv);
      if (!GcmSeal(rtp_encrypt_.context, iv, in, header, nullptr, 0, in + header, length - header, out + header, out + length)) return -1;
      return long(length + kGcmTag);
    }
    uint8_t iv[16];
    CounterIv(rtp_salt_, ssrc, roc, seq, iv);
    if (!Ctr(rtp_encrypt_.context, iv, in + header, length - header, out + header)) return -1;
    uint8_t roc_bytes[4];
    WriteU32(roc_bytes, roc);
    uint8_t digest[SHA_DIGEST_LENGTH];
    rtp_auth_.Mac(out, length, roc_bytes, 4, digest);
    memcpy(out + length, digest, kHmacTag);
    return long(length + kHmacTag);
  }

  // Authenticates and decrypts `data` (with its tag) in place; the plaintext length, or -1.
  long DecryptRtp(uint8_t* data, size_t length, size_t header, uint32_t roc) {
    if (length < rtp_overhead() || header < kRtpHeader || header > length - rtp_overhead()) return -1;
    const size_t plain = length - rtp_overhead();
    const uint32_t ssrc = ReadU32(data + 8);
    const uint16_t seq = uint16_t((data[2] << 8) | data[3]);
    if (profile_ == kProfileAeadAes128Gcm) {
      uint8_t iv[kGcmIvLength];
      GcmRtpIv(ssrc, roc, seq, iv);
      return GcmOpen(rtp_decrypt_.context, iv, data, header, nullptr, 0, data + header, plain - header, data + plain) ? long(plain) : -1;
    }
    uint8_t roc_bytes[4];
    WriteU32(roc_bytes, roc);
    uint8_t digest[SHA_DIGEST_LENGTH];
    rtp_auth_.Mac(data, plain, roc_bytes, 4, digest);
    if (CRYPTO_memcmp(digest, data + plain, kHmacTag) != 0) return -1;
    uint8_t iv[16];
    CounterIv(rtp_salt_, ssrc, roc, seq, iv);
    return Ctr(rtp_encrypt_.context, iv, data + header, plain - header, data + header) ? long(plain) : -1;
  }

  // SRTCP with this 31-bit index, E flag set (RFC 3711 §3.4; RFC 7714 §9, §17).
  long EncryptRtcp(const uint8_t* in, size_t length, uint32_t index, uint8_t* out, size_t capacity) {
    if (length < kRtcpHeader || capacity < length + rtcp_overhead()) return -1;
    if (out != in) memmove(out, in, kRtcpHeader);
    const uint32_t ssrc = ReadU32(in + 4);
    const uint32_t e_index = index | 0x80000000u;
    if (profile_ == kProfileAeadAes128Gcm) {
      uint8_t iv[kGcmIvLength];
      GcmRtcpIv(ssrc, index, iv);
      uint8_t index_bytes[4];
      WriteU32(index_bytes, e_index);
      if (!GcmSeal(rtcp_encrypt_.context, iv, in, kRtcpHeader, index_bytes, 4, in + kRtcpHeader, length - kRtcpHeader, out + kRtcpHeader,
                   out + length)) {
        return -1;
      }
      memcpy(out + length + kGcmTag, index_bytes, 4);
      return long(length + kGcmTag + 4);
    }
    uint8_t iv[16];
    CounterIv(rtcp_salt_, ssrc, index >> 16, uint16_t(index & 0xffff), iv);
    if (!Ctr(rtcp_encrypt_.context, iv, in + kRtcpHeader, length - kRtcpHeader, out + kRtcpHeader)) return -1;
    WriteU32(out + length, e_index);
    uint8_t digest[SHA_DIGEST_LENGTH];
    rtcp_auth_.Mac(out, length + 4, nullptr, 0, digest);
    memcpy(out + length + 4, digest, kHmacTag);
    return long(length + 4 + kHmacTag);
  }

  // Authenticates (and, E set, decrypts) an SRTCP packet in place; the RTCP length, or -1.
  long DecryptRtcp(uint8_t* data, size_t length) {
    if (length < kRtcpHeader + rtcp_overhead()) return -1;
    const uint32_t ssrc = ReadU32(data + 4);
    if (profile_ == kProfileAeadAes128Gcm) {
      const size_t index_offset = length - kSrtcpIndexLength;
      const size_t tag_offset = index_offset - kGcmTag;
      const uint32_t e_index = ReadU32(data + index_offset);
      uint8_t iv[kGcmIvLength];
      GcmRtcpIv(ssrc, e_index & 0x7fffffffu, iv);
      if (e_index >> 31) {
        return GcmOpen(rtcp_decrypt_.context, iv, data, kRtcpHeader, data + index_offset, 4, data + kRtcpHeader, tag_offset - kRtcpHeader,
                       data + tag_offset)
                   ? long(tag_offset)
                   : -1;
      }
      // E clear: everything but the tag is authenticated, nothing encrypted.
      return GcmOpen(rtcp_decrypt_.context, iv, data, tag_offset, data + index_offset, 4, nullptr, 0, data + tag_offset) ? long(tag_offset) : -1;
    }
    const size_t authenticated = length - kHmacTag;
    uint8_t digest[SHA_DIGEST_LENGTH];
    rtcp_auth_.Mac(data, authenticated, nullptr, 0, digest);
    if (CRYPTO_memcmp(digest, data + authenticated, kHmacTag) != 0) return -1;
    const size_t plain = authenticated - kSrtcpIndexLength;
    const uint32_t e_index = ReadU32(data + plain);
    if (e_index >> 31) {
      const uint32_t index = e_index & 0x7fffffffu;
      uint8_t iv[16];
      CounterIv(rtcp_salt_, ssrc, index >> 16, uint16_t(index & 0xffff), iv);
      if (!Ctr(rtcp_encrypt_.context, iv, data + kRtcpHeader, plain - kRtcpHeader, data + kRtcpHeader)) return -1;
    }
    return long(plain);
  }

 private:
  static bool InitContext(CipherContext& c, const EVP_CIPHER* cipher, const uint8_t* key, bool encrypt) {
    c.context = EVP_CIPHER_CTX_new();
    if (c.context == nullptr) return false;
    return (encrypt ? EVP_EncryptInit_ex(c.context, cipher, nullptr, key, nullptr) : EVP_DecryptInit_ex(c.context, cipher, nullptr, key, nullptr)) == 1;
  }

  // RFC 3711 §4.1.1: IV = (k_s · 2^16) ⊕ (SSRC · 2^64) ⊕ (i · 2^16), i = high32 · 2^16 + low16.
  // OpenSSL's CTR mode increments the whole 128-bit block; within a packet (< 2^16 blocks) that is
  // the same as AES-CM's 16-bit block counter.
  static void CounterIv(const uint8_t* salt, uint32_t ssrc, uint32_t high32, uint16_t low16, uint8_t iv[16]) {
    memcpy(iv, salt, kSaltLength);
    iv[14] = iv[15] = 0;
    iv[4] ^= uint8_t(ssrc >> 24), iv[5] ^= uint8_t(ssrc >> 16), iv[6] ^= uint8_t(ssrc >> 8), iv[7] ^= uint8_t(ssrc);
    iv[8] ^= uint8_t(high32 >> 24), iv[9] ^= uint8_t(high32 >> 16), iv[10] ^= uint8_t(high32 >> 8), iv[11] ^= uint8_t(high32);
    iv[12] ^= uint8_t(low16 >> 8), iv[13] ^= uint8_t(low16);
  }

  // RFC 7714 §8.1: IV = salt ⊕ (00 00 | SSRC | ROC | SEQ).
  void GcmRtpIv(uint32_t ssrc, uint32_t roc, uint16_t seq, uint8_t iv[kGcmIvLength]) const {
    memcpy(iv, rtp_salt_, kGcmIvLength);
    iv[2] ^= uint8_t(ssrc >> 24), iv[3] ^= uint8_t(ssrc >> 16), iv[4] ^= uint8_t(ssrc >> 8), iv[5] ^= uint8_t(ssrc);
    iv[6] ^= uint8_t(roc >> 24), iv[7] ^= uint8_t(roc >> 16), iv[8] ^= uint8_t(roc >> 8), iv[9] ^= uint8_t(roc);
    iv[10] ^= uint8_t(seq >> 8), iv[11] ^= uint8_t(seq);
  }

  // RFC 7714 §9.1: IV = salt ⊕ (00 00 | SSRC | 00 00 | 0 | SRTCP index).
  void GcmRtcpIv(uint32_t ssrc, uint32_t index, uint8_t iv[kGcmIvLength]) const {
    memcpy(iv, rtcp_salt_, kGcmIvLength);
    iv[2] ^= uint8_t(ssrc >> 24), iv[3] ^= uint8_t(ssrc >> 16), iv[4] ^= uint8_t(ssrc >> 8), iv[5] ^= uint8_t(ssrc);
    iv[8] ^= uint8_t(index >> 24), iv[9] ^= uint8_t(index >> 16), iv[10] ^= uint8_t(index >> 8), iv[11] ^= uint8_t(index);
  }

  static bool Ctr(EVP_CIPHER_CTX* c, const uint8_t iv[16], const uint8_t* in, size_t length, uint8_t* out) {
    int written = 0;
    if (EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, iv) != 1) return false;
    return length == 0 || EVP_EncryptUpdate(c, out, &written, in, int(length)) == 1;
  }

  // AAD = aad1 || aad2; the tag goes to `tag`.
  static bool GcmSeal(EVP_CIPHER_CTX* c, const uint8_t* iv, const uint8_t* aad1, size_t aad1_length, const uint8_t* aad2,
                      size_t aad2_length, const uint8_t* in, size_t length, uint8_t* out, uint8_t* tag) {
    int written = 0;
    if (EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, iv) != 1) return false;
    if (EVP_EncryptUpdate(c, nullptr, &written, aad1, int(aad1_length)) != 1) return false;
    if (aad2_length > 0 && EVP_EncryptUpdate(c, nullptr, &written, aad2, int(aad2_length)) != 1) return false;
    if (length > 0 && EVP_EncryptUpdate(c, out, &written, in, int(length)) != 1) return false;
    if (EVP_EncryptFinal_ex(c, out + length, &written) != 1) return false;
    return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, int(kGcmTag), tag) == 1;
  }

  static bool GcmOpen(EVP_CIPHER_CTX* c, const uint8_t* iv, const uint8_t* aad1, size_t aad1_length, const uint8_t* aad2, size_t aad2_length,
                      uint8_t* data, size_t length, const uint8_t* tag) {
    int written = 0;
    if (EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, iv) != 1) return false;
    if (EVP_DecryptUpdate(c, nullptr, &written, aad1, int(aad1_length)) != 1) return false;
    if (aad2_length > 0 && EVP_DecryptUpdate(c, nullptr, &written, aad2, int(aad2_length)) != 1) return false;
    if (length > 0 && EVP_DecryptUpdate(c, data, &written, data, int(length)) != 1) return false;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, int(kGcmTag), const_cast<uint8_t*>(tag)) != 1) return false;
    return EVP_DecryptFinal_ex(c, data + length, &written) == 1;
  }

  int profile_ = 0;
  uint8_t rtp_salt_[kSaltLength] = {};
  uint8_t rtcp_salt_[kSaltLength] = {};
  CipherContext rtp_encrypt_, rtcp_encrypt_, rtp_decrypt_, rtcp_decrypt_;
  HmacSha1 rtp_auth_, rtcp_auth_;
};

// What comes in, per SSRC: the RFC 3711 §3.3.2 replay window and the §3.3.1 / Appendix A index
// estimate, as bridge/rtp/replay.ts's ReplayWindow and estimateSrtpIndex and srtp-protection.ts's
// SsrcTable do them for the TypeScript path (test/unit/bridge/transport/srtp-protection.test.ts runs
// the same cases on both). Here so that the media socket can unprotect SRTP as it reads it
// (UdpSocket::setReceiver), and a packet costs no JavaScript bookkeeping; one state per transform,
// whichever of the two ways (the read, NativeMedia.unprotectRtp) a packet comes.
constexpr int64_t kReplayWindow = 64;  // replay.ts DEFAULT_REPLAY_WINDOW
constexpr size_t kReceivingSsrcs = 256;  // srtp-protection.ts RECEIVING_SSRCS
constexpr long kUnprotectMalformed = -2;
constexpr long kUnprotectReplay = -3;
constexpr long kUnprotectAuth = -4;
constexpr long kForwarded = -5;  // UdpSocket::Unprotect: the read forwarded it (never handed to JavaScript)

struct ReplayWindow {
  int64_t highest = -1;  // highest index accepted, -1 before the first
  uint64_t bits = 0;     // bit (index mod 64) set: that index, within the window, was received

  bool Accepts(int64_t index) const {
    if (index < 0) return false;
    if (index > highest) return true;
    if (highest - index >= kReplayWindow) return false;
    return ((bits >> (index % kReplayWindow)) & 1) == 0;
  }

  void Update(int64_t index) {
    if (index < 0) return;
    if (index > highest) {
      if (highest < 0 || index - highest >= kReplayWindow) {
        bits = 0;
      } else {
        for (int64_t i = highest + 1; i < index; i++) bits &= ~(uint64_t(1) << (i % kReplayWindow));
      }
      highest = index;
    } else if (highest - index >= kReplayWindow) {
      return;
    }
    bits |= uint64_t(1) << (index % kReplayWindow);
  }
};

// RFC 3711 Appendix A: the packet index of `seq` from the highest index so far (-1: none, ROC 0).
int64_t EstimateSrtpIndex(int64_t highest, uint16_t seq) {
  if (highest < 0) return seq;
  const uint32_t roc = uint32_t(uint64_t(highest) >> 16);
  const int32_t sl = int32_t(highest & 0xffff);
  uint32_t v = roc;
  if (sl < 32768) {
    if (int32_t(seq) - sl > 32768) v = roc - 1;  // modulo 2^32
  } else if (sl - 32768 > int32_t(seq)) {
    v = roc + 1;
  }
  return int64_t(v) * 65536 + seq;
}

uint32_t RolloverCounter(int64_t index) { return uint32_t(uint64_t(index) >> 16); }

// RFC 3550 §5.1, §5.3.1: the RTP header's length when version 2 and within the first `limit`
// bytes; -1 otherwise (srtp-protection.ts rtpHeaderLength).
long RtpHeaderLength(const uint8_t* packet, long limit) {
  if (limit < long(kRtpHeader) || packet[0] >> 6 != 2) return -1;
  long length = long(kRtpHeader) + 4 * (packet[0] & 0x0f);
  if (packet[0] & 0x10) {
    if (length + 4 > limit) return -1;
    length += 4 + 4 * ((packet[length + 2] << 8) | packet[length + 3]);
  }
  return length <= limit ? length : -1;
}

// What goes out, per SSRC: the highest packet index sent, whose ROC the next packet is protected
// with (SrtpTransform::ProtectRtp).
constexpr size_t kSendingSsrcs = 2048;  // srtp-protection.ts SENDING_SSRCS
constexpr int64_t kSentWindow = 1024;  // srtp-protection.ts SENT_WINDOW

// Per SSRC sent: the highest index (the ROC of the next packet), and which of the kSentWindow
// indices up to the highest one protected were protected already. An index is protected once: two
// plaintexts under one index would reuse AES-CM keystream, or a GCM nonce, towards the receiver.
// Whatever the forwarding does (a sender replaying its own packets once the bridge forgot its
// replay window, say), an index sent or too old to tell is refused here (srtp-protection.ts
// SentWindow, the same rules).
struct SentWindow {
  int64_t highest = -1;  // highest real index sent, -1 before the first
  int64_t top = 0;       // highest index marked (virtual: below 0 for a packet from before the first ROC)
  bool any = false;
  uint64_t bits[kSentWindow / 64] = {};

  static size_t Bit(int64_t index) { return size_t(((index % kSentWindow) + kSentWindow) % kSentWindow); }
  bool Get(int64_t index) const { return ((bits[Bit(index) / 64] >> (Bit(index) % 64)) & 1) != 0; }
  void Set(int64_t index, bool value) {
    const uint64_t mask = uint64_t(1) << (Bit(index) % 64);
    bits[Bit(index) / 64] = value ? bits[Bit(index) / 64] | mask : bits[Bit(index) / 64] & ~mask;
  }

  // Whether `index` may be protected now (never before, not too old); marks it when so.
  bool Take(int64_t index) {
    if (!any || index - top >= kSentWindow) {
      for (uint64_t& word : bits) word = 0;
    } else if (index > top) {
      for (int64_t i = top + 1; i < index; i++) Set(i, false);
    } else if (top - index >= kSentWindow || Get(index)) {
      return false;
    }
    if (!any || index > top) top = index;
    any = true;
    Set(index, true);
    return true;
  }
};

// Per-SSRC state of the SSRCs used most recently, in two generations as srtp-protection.ts's
// SsrcTable: a lookup writes nothing; an SSRC is forgotten once more than `capacity` others were
// used after it, and at most 2 × `capacity` are held, whatever SSRCs a peer sends from (or the
// bridge forwards to it).
template <typename T>
class SsrcTable {
 public:
  explicit SsrcTable(size_t capacity) : capacity_(capacity) {}
  // A copy would hold the other table's cached pointers.
  SsrcTable(const SsrcTable&) = delete;
  SsrcTable& operator=(const SsrcTable&) = delete;

  // The state of `ssrc`, or nullptr; `recent` tells which generation holds it.
  const T* Find(uint32_t ssrc, bool* recent) const {
    if (T* cached = Cached(ssrc)) {
      *recent = true;
      return cached;
    }
    auto found = recent_.find(ssrc);
    if (found != recent_.end()) {
      *recent = true;
      return Remember(ssrc, const_cast<T*>(&found->second));
    }
    *recent = false;
    found = older_.find(ssrc);
    return found != older_.end() ? &found->second : nullptr;
  }

  T* Recent(uint32_t ssrc) {
    if (T* cached = Cached(ssrc)) return cached;
    auto found = recent_.find(ssrc);
    return found != recent_.end() ? Remember(ssrc, &found->second) : nullptr;
  }

  // Records a use of an SSRC not in the recent generation, with its state (new or older).
  T* Keep(uint32_t ssrc, T state) {
    older_.erase(ssrc);  // never cached: the cache holds the recent generation's
    if (recent_.size() >= capacity_) {
      older_ = std::move(recent_);
      recent_ = {};
      cache_ = {};
    }
    // An insertion may rehash, which moves no element: the cached pointers stay valid.
    return Remember(ssrc, &(recent_[ssrc] = state));
  }

 private:
  // Before the maps, the recent generation's states last looked up, by SSRC, direct-mapped. By
  // hand because std::unordered_map's lookup divides by its prime bucket count (a 64-bit division)
  // and follows two pointers: per forwarded copy (the receiver's transform, ProtectRtp) that was
  // three quarters of the addon's own time with the packet in 1x50(lastN20). A receiver gets 20
  // or so SSRCs: in 32 slots nearly half of them shared one with another (and each pushed the
  // other out at every packet); in 128, one in seven.
  static constexpr size_t kCacheSlots = 128;
  struct CacheSlot {
    uint32_t ssrc = 0;
    T* state = nullptr;
  };
  static size_t SlotOf(uint32_t ssrc) { return size_t((ssrc * 2654435761u) >> 25); }  // Fibonacci hashing: the top 7 bits
  T* Cached(uint32_t ssrc) const {
    const CacheSlot& slot = cache_[SlotOf(ssrc)];
    return slot.state != nullptr && slot.ssrc == ssrc ? slot.state : nullptr;
  }
  T* Remember(uint32_t ssrc, T* state) const {
    cache_[SlotOf(ssrc)] = {ssrc, state};
    return state;
  }

  size_t capacity_;
  std::unordered_map<uint32_t, T> recent_;
  std::unordered_map<uint32_t, T> older_;
  mutable std::array<CacheSlot, kCacheSlots> cache_{};
};

// Bytes of a Uint8Array argument (a Buffer or a view of one); false if it is not one.
bool Bytes(const Napi::Value& value, uint8_t** data, size_t* length) {
  if (!value.IsTypedArray()) return false;
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  if (array.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();
  *data = bytes.Data();
  *length = bytes.ElementLength();
  return true;
}

uint32_t U32(const Napi::Value& value) { return value.IsNumber() ? value.As<Napi::Number>().Uint32Value() : 0; }

Napi::Value Fail(Napi::Env env) { return Napi::Number::New(env, -1); }

// Marks UdpSocket objects, so that a UdpBatch never takes another object for one.
const napi_type_tag kSocketTag = {0x3c9e1b5d7f20a864ULL, 0xe14a6c08b3d95f72ULL};
const napi_type_tag kBatchTag = {0x8b47d21e6a9f03c5ULL, 0x5d0e93b7c12f48a6ULL};

// Node-API checks the receiver of a class's methods, not of its accessors: a getter taken from
// one class's prototype and called on another's object would run on the wrong native object.
// Every accessor of a tagged class first checks its receiver's tag (and touches no member before).
bool Tagged(const Napi::CallbackInfo& info, const napi_type_tag* tag) {
  return info.This().IsObject() && info.This().As<Napi::Object>().CheckTypeTag(tag);
}

// The objects the per-packet functions (DecryptRtpFast, QueueRtpFast) take, named by a number
// instead of by their JavaScript object: an ObjectWrap method call unwraps `this` (a private
// property lookup in V8) and a transform argument costs a type-tag check and a second unwrap,
// together about half of such a call's cost (bench/README.md, "The hot path's native calls").
// A handle is a slot's index, its generation and the registry's kind: a handle of another kind
// finds nothing, nor does one outliving its object until its slot has been reused 2^26 times (the
// TypeScript side keeps each handle with its object, so it never passes a stale one). Each
// environment (main thread, worker) has its own registries, whose generations start at random:
// a handle carried to another environment is unlikely to name anything there.
template <typename T, uint32_t kKind>
class Registry {
 public:
  Registry() {
    uint32_t seed = 0;
    // Any start will do when the kernel has no randomness to give: the generation only dates a slot.
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != ssize_t(sizeof seed)) seed = uint32_t(time(nullptr));
    first_generation_ = seed % kMaxGeneration + 1;
  }

  // Never 0: an unset handle does not name anything.
  double Add(T* item) {
    uint32_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      if (slots_.size() >= kMaxSlots) return 0;
      index = uint32_t(slots_.size());
      slots_.push_back({nullptr, first_generation_});
    }
    slots_[index].item = item;
    return Handle(index);
  }

  void Remove(double handle) {
    const uint32_t index = Index(handle);
    if (index >= slots_.size() || slots_[index].item == nullptr || Handle(index) != handle) return;
    slots_[index].item = nullptr;
    slots_[index].generation = slots_[index].generation % kMaxGeneration + 1;
    free_.push_back(index);
  }

  // The object of a handle argument, or nullptr (not a number, no such object).
  T* Find(napi_env env, napi_value value) const {
    double handle;
    if (napi_get_value_double(env, value, &handle) != napi_ok) return nullptr;
    return Find(handle);
  }

  T* Find(double handle) const {
    if (!(handle >= 0) || handle >= kMaxHandle) return nullptr;
    const uint32_t index = Index(handle);
    if (index >= slots_.size() || Handle(index) != handle) return nullptr;
    return slots_[index].item;
  }

 private:
  static constexpr uint32_t kKinds = 4;
  static_assert(kKind < kKinds, "a kind is one of four");
  static constexpr uint32_t kMaxSlots = 1u << 24;
  static constexpr uint32_t kMaxGeneration = 1u << 26;  // handles below 2^53: exact as doubles
  static constexpr double kMaxHandle = double(kMaxGeneration + 1) * double(kMaxSlots) * kKinds;

  static uint32_t Index(double handle) { return uint32_t(uint64_t(handle) / kKinds % kMaxSlots); }
  double Handle(uint32_t index) const { return (double(slots_[index].generation) * double(kMaxSlots) + double(index)) * kKinds + kKind; }

  struct Slot {
    T* item;
    uint32_t generation;
  };
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  uint32_t first_generation_ = 1;
};

class SrtpTransform;
class UdpBatch;

// Memory JavaScript reads and writes through ArrayBuffers over it, not V8's: an ArrayBuffer over
// external memory cannot be transferred (postMessage and structuredClone copy it), and one detached
// by other means leaves the memory to its owner, which goes on writing into it. Freed when the
// owner (its reference, the first) and every ArrayBuffer (View) have let go of it; all on the
// JavaScript thread (Node-API finalizers run there).
template <typename Self>
struct SharedMemory {
  int references = 1;

  // An ArrayBuffer over [data, data + length), which holds a reference until collected.
  bool View(napi_env env, void* data, size_t length, napi_value* result) {
    references++;
    if (napi_create_external_arraybuffer(env, data, length, [](napi_env, void*, void* hint) { static_cast<SharedMemory*>(hint)->Release(); }, this, result) == napi_ok) {
      return true;
    }
    references--;
    return false;
  }
  void Release() {
    if (--references == 0) delete static_cast<Self*>(this);
  }
};

// Walks the header extension block of the RTP packet whose header is `header` bytes long (RFC
// 8285 one-byte and two-byte forms), as a receiver reads it: libwebrtc's reading stops at a
// one-byte element of id 15, or of id 0 with a length. `visit(id, start, value, size)` is called
// for each element: `start` its first byte, `value` where its value starts and `size` its declared
// length, which may run past the block (the visitor decides); it returns false to stop.
template <typename Visit>
void WalkExtensions(const uint8_t* packet, size_t header, Visit visit) {
  if (!(packet[0] & 0x10)) return;
  const size_t block = kRtpHeader + 4 * size_t(packet[0] & 0x0f);
  const unsigned profile = (unsigned(packet[block]) << 8) | packet[block + 1];
  const bool one_byte = profile == 0xbede;
  if (!one_byte && (profile & 0xfff0) != 0x1000) return;
  for (size_t i = block + 4; i < header;) {
    const uint8_t b = packet[i];
    if (b == 0) {
      i++;
      continue;
    }
    if (one_byte) {
      const int element = b >> 4;
      if (element == 15 || element == 0) return;
      const size_t size = size_t(b & 0x0f) + 1;
      if (!visit(element, i, i + 1, size)) return;
      i += 1 + size;
    } else {
      if (i + 2 > header) return;
      const size_t size = packet[i + 1];
      if (!visit(int(b), i, i + 2, size)) return;
      i += 2 + size;
    }
  }
}

// Where the value of header extension element `id` starts (bridge/rtp/packet.ts
// RtpHeader.findExtension's rules: WalkExtensions, and an element that runs past the block ends
// the reading), its length in *length; -1 when the packet has no such element.
long ExtensionValue(const uint8_t* packet, size_t header, int id, size_t* length) {
  long found = -1;
  if (id <= 0) return found;
  WalkExtensions(packet, header, [&](int element, size_t, size_t value, size_t size) {
    if (value + size > header) return false;
    if (element != id) return true;
    *length = size;
    found = long(value);
    return false;
  });
  return found;
}

// The transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01) carried in
// header extension element `id`, or -1 (ExtensionValue's rules).
int32_t TransportSequenceOf(const uint8_t* packet, size_t header, int id) {
  size_t length = 0;
  const long at = ExtensionValue(packet, header, id, &length);
  return at >= 0 && length >= 2 ? int32_t((packet[at] << 8) | packet[at + 1]) : -1;
}

// Zeroes (padding, RFC 8285 §4.2) every header extension element whose id is set in `ids` (a
// 256-bit set), as conference.ts blankExtensions: up to the block's end for one that runs past it.
void BlankExtensions(uint8_t* packet, size_t header, const uint8_t ids[32]) {
  WalkExtensions(packet, header, [&](int element, size_t start, size_t value, size_t size) {
    if ((ids[element >> 3] >> (element & 7)) & 1) memset(packet + start, 0, std::min(value + size, header) - start);
    return true;
  });
}

// What the media socket's read notes of each RTP packet a receiving transform unprotected, for
// JavaScript to read in one go when it builds transport-cc feedback and receiver reports
// (bridge/rtp/receive-log.ts) instead of once per packet: in arrival order, the arrival (ms on
// the monotonic clock, MonotonicMs, the kernel's time when it gave one) and six fields
// (transport-wide sequence number or -1, SSRC, sequence number, RTP timestamp, payload type,
// length), and a seventh: kNotForwarded for a packet handed on to JavaScript, else the read
// forwarded it itself (UdpSocket::Forward) and JavaScript never sees it: its RFC 6464 audio level
// octet, -1 without one. A record that finds the log full is counted, not kept, and its packet is
// handed on as not noted (UdpSocket::Unprotect). In memory of its own (SharedMemory): freed once
// the transform and every view let go of it.
constexpr size_t kReceiveLogRecords = 1024;
constexpr size_t kReceiveLogFields = 7;
constexpr int32_t kNotForwarded = -2;

// What ReceiveLogMemory::Note made of a packet.
enum class Noted { kRecord, kNothing, kFull };

struct ReceiveLogMemory : SharedMemory<ReceiveLogMemory> {
  double arrivals[kReceiveLogRecords] = {};
  int32_t fields[kReceiveLogRecords * kReceiveLogFields] = {};
  // [0]: records waiting (JavaScript sets it back to 0 once it read them); [1]: records not kept.
  int32_t state[2] = {};

  // One unprotected RTP packet of `length` bytes (SRTP tag removed): a record; nothing, for a
  // packet RtpHeader.parse would refuse (nothing to note, nothing to do); or the log is full.
  Noted Note(const uint8_t* packet, size_t length, double arrival, int extension) {
    const long header = RtpHeaderLength(packet, long(length));
    if (header < 0) return Noted::kNothing;
    // As RtpHeader.parse: a padding count of 0, or one longer than the payload, makes no packet.
    if ((packet[0] & 0x20) && (packet[length - 1] == 0 || size_t(packet[length - 1]) > length - size_t(header))) return Noted::kNothing;
    if (size_t(state[0]) >= kReceiveLogRecords) {
      state[1]++;
      return Noted::kFull;
    }
    const size_t i = size_t(state[0]++);
    arrivals[i] = arrival;
    int32_t* f = &fields[i * kReceiveLogFields];
    f[0] = TransportSequenceOf(packet, size_t(header), extension);
    f[1] = int32_t(ReadU32(packet + 8));
    f[2] = int32_t((packet[2] << 8) | packet[3]);
    f[3] = int32_t(ReadU32(packet + 4));
    f[4] = packet[1] & 0x7f;
    f[5] = int32_t(length);
    f[6] = kNotForwarded;
    return Noted::kRecord;
  }

  // The packet of the last record was forwarded by the read, with this audio level octet (-1: none).
  void Forwarded(int32_t level) { fields[(size_t(state[0]) - 1) * kReceiveLogFields + 6] = level; }
};

// What the read forwards to one endpoint (SendTarget), for JavaScript to read in one go, as the
// receive log: per datagram, its transport-wide sequence number, length (RTP, as
// ReceiverBandwidth.stamp counts it) and send time (ms, MonotonicMs). The next transport-wide
// sequence number of the endpoint's transport is kept here too: JavaScript's own sends take
// theirs from it, once they read what is waiting, so that the numbers and the records keep one
// order. A record that finds the log full is counted, not kept; its packet goes all the same.
constexpr size_t kSendLogRecords = 1024;
constexpr size_t kSendLogFields = 2;

struct SendLogMemory : SharedMemory<SendLogMemory> {
  double times[kSendLogRecords] = {};
  int32_t fields[kSendLogRecords * kSendLogFields] = {};
  // [0]: the next transport-wide sequence number; [1]: records waiting (JavaScript sets it back to
  // 0 once it read them); [2]: records not kept.
  int32_t state[3] = {};
  // [0]: datagrams queued; [1]: their bytes (SRTP); [2]: packets not sent (no session or address
  // set, or the protection refused them).
  double counters[3] = {};

  uint16_t Take(size_t length, double now) {
    const uint16_t sequence = uint16_t(state[0]);
    state[0] = (sequence + 1) & 0xffff;
    if (size_t(state[1]) >= kSendLogRecords) {
      state[2]++;
      return sequence;
    }
    const size_t i = size_t(state[1]++);
    times[i] = now;
    fields[i * kSendLogFields] = sequence;
    fields[i * kSendLogFields + 1] = int32_t(length);
    return sequence;
  }
};

// The VP8 payload descriptor of an RTP payload (RFC 7741 §4.2), as bridge/rtp/vp8.ts reads it:
// where its PictureID and TL0PICIDX are (-1: absent), and whether the packet starts a keyframe
// (§4.3: S, partition 0, the payload header's P bit 0).
struct Vp8Descriptor {
  long pid_at = -1;
  int pid_bits = 0;
  int32_t pid = -1;
  long tl0_at = -1;
  int32_t tl0 = -1;
  bool keyframe_start = false;

  // The descriptor at [offset, end); false when it does not fit.
  bool Parse(const uint8_t* p, size_t offset, size_t end) {
    if (offset >= end) return false;
    const uint8_t b0 = p[offset];
    size_t i = offset + 1;
    if (b0 & 0x80) {
      if (i >= end) return false;
      const uint8_t x = p[i++];
      if (x & 0x80) {
        if (i >= end) return false;
        pid_at = long(i);
        const uint8_t p0 = p[i++];
        if (p0 & 0x80) {
          if (i >= end) return false;
          pid_bits = 15;
          pid = int32_t(((p0 & 0x7f) << 8) | p[i++]);
        } else {
          pid_bits = 7;
          pid = p0;
        }
      }
      if (x & 0x40) {
        if (i >= end) return false;
        tl0_at = long(i);
        tl0 = p[i++];
      }
      if (x & 0x30) {
        if (i >= end) return false;
        i++;
      }
    }
    keyframe_start = (b0 & 0x10) && (b0 & 0x07) == 0 && i < end && (p[i] & 0x01) == 0;
    return true;
  }
};

// What the read forwarded itself of one video layer (SrtpTransform::setVideoRoute): per packet its
// bytes as they came (extensions blanked, before any receiver's rewrite) and kVideoRingFields
// numbers — sequence number, timestamp, PictureID (-1: none), its bits, TL0PICIDX (-1: none),
// marker, length, arrival (ms, MonotonicMs) — in the slot its sequence number names (its low
// bits). The packets waiting for JavaScript to take them in (video-projection.ts) are a run of
// consecutive sequence numbers, from state[3]; once taken in they stay where they are, as the
// bridge's packet cache of that layer (a NACK finds them there: packet-cache.ts attach),
// until a later packet takes the slot. A ring full of waiting packets forwards nothing more: the
// layer's packets go to JavaScript, which takes the ring in first.
constexpr size_t kVideoRingSlots = 256;
constexpr size_t kVideoRingSlotBytes = 1500;
constexpr size_t kVideoRingFields = 8;

struct VideoRing : SharedMemory<VideoRing> {
  double meta[kVideoRingSlots * kVideoRingFields] = {};
  uint8_t bytes[kVideoRingSlots * kVideoRingSlotBytes] = {};
  // [0]: packets waiting (JavaScript sets it back to 0 once it took them in); [1]: JavaScript's
  // own (Endpoint: set once the route is gone); [2]: the sequence number the route takes next;
  // [3]: the first waiting packet's sequence number.
  int32_t state[4] = {};
};

class SendTarget;

// Shared by the instance's classes and functions; kept alive by every object registered in it,
// so that an object finalized after the instance data (teardown order is not specified) still
// finds its registry.
struct AddonState : std::enable_shared_from_this<AddonState> {
  Registry<SrtpTransform, 1> transforms;
  Registry<UdpBatch, 2> batches;
  Registry<SendTarget, 3> targets;
};

// A handle as the read-only property `handle` of the object it names.
void DefineHandle(Napi::Object object, double handle) {
  object.DefineProperty(Napi::PropertyDescriptor::Value("handle", Napi::Number::New(object.Env(), handle), napi_enumerable));
}

// Registers the object being constructed in `registry` and names it by its handle (its `handle`
// property); 0, with a JavaScript exception pending, when the registry is full.
template <typename T, uint32_t kKind>
double Register(const Napi::CallbackInfo& info, Registry<T, kKind>& registry, T* self, const char* full) {
  const double handle = registry.Add(self);
  if (handle == 0) {
    Napi::Error::New(info.Env(), full).ThrowAsJavaScriptException();
    return 0;
  }
  DefineHandle(info.This().As<Napi::Object>(), handle);
  return handle;
}

class SrtpTransform : public Napi::ObjectWrap<SrtpTransform> {
 public:
  static Napi::Function Define(Napi::Env env, AddonState* state) {
    return DefineClass(env, "SrtpTransform",
                       {InstanceMethod<&SrtpTransform::EncryptRtp>("encryptRtp"), InstanceMethod<&SrtpTransform::ProtectRtpMethod>("protectRtp"),
                        InstanceMethod<&SrtpTransform::EncryptRtcp>("encryptRtcp"),
                        InstanceMethod<&SrtpTransform::DecryptRtcp>("decryptRtcp"), InstanceMethod<&SrtpTransform::ReceiveLog>("receiveLog"),
                        InstanceMethod<&SrtpTransform::SetRouting>("setRouting"), InstanceMethod<&SrtpTransform::SetRoute>("setRoute"),
                        InstanceMethod<&SrtpTransform::SetVideoRoute>("setVideoRoute"),
                        InstanceMethod<&SrtpTransform::TakeForwarded>("takeForwarded")},
                       state);
  }

  // new SrtpTransform(profile, rtpKey, rtpSalt, rtpAuthKey, rtcpKey, rtcpSalt, rtcpAuthKey)
  explicit SrtpTransform(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SrtpTransform>(info) {
    Napi::Env env = info.Env();
    const int profile = int(U32(info[0]));
    if (profile != kProfileAesCmHmacSha1_80 && profile != kProfileAeadAes128Gcm) {
      Napi::TypeError::New(env, "unsupported SRTP protection profile").ThrowAsJavaScriptException();
      return;
    }
    const size_t salt_length = profile == kProfileAeadAes128Gcm ? kGcmIvLength : kSaltLength;
    const size_t auth_length = profile == kProfileAeadAes128Gcm ? 0 : kAuthKeyLength;
    const size_t expected[6] = {kKeyLength, salt_length, auth_length, kKeyLength, salt_length, auth_length};
    uint8_t* keys[6] = {};
    for (int i = 0; i < 6; i++) {
      size_t length = 0;
      if (!Bytes(info[i + 1], &keys[i], &length) || length < expected[i]) {
        Napi::TypeError::New(env, "SRTP session key of the wrong length").ThrowAsJavaScriptException();
        return;
      }
    }
    if (!transform_.Init(profile, keys[0], keys[1], keys[2], keys[3], keys[4], keys[5])) {
      Napi::Error::New(env, "OpenSSL refused the SRTP keys").ThrowAsJavaScriptException();
      return;
    }
    state_ = static_cast<AddonState*>(info.Data())->shared_from_this();
    handle_ = Register(info, state_->transforms, this, "too many SRTP transforms");
  }

  ~SrtpTransform() override {
    if (state_) state_->transforms.Remove(handle_);
    if (log_ != nullptr) log_->Release();
    for (Route& route : routes_) {
      if (route.ring != nullptr) route.ring->Release();
    }
  }

  // Notes an RTP packet the media socket's read unprotected (UdpSocket::Unprotect), when asked to:
  // kFull as well when it keeps no log (then JavaScript takes the packet's facts from the packet,
  // as without a log).
  Noted NoteReceived(const uint8_t* packet, size_t length, double arrival) {
    return log_ != nullptr ? log_->Note(packet, length, arrival, log_extension_) : Noted::kFull;
  }

  // A receiver of a video route: its send target and what its packets are re-stamped with
  // (bridge/rtp/seqmap.ts: the outgoing SSRC, input + delta for the sequence number, timestamp,
  // PictureID and TL0PICIDX).
  struct VideoTarget {
    double target;
    uint32_t ssrc;
    uint16_t sequence_delta;
    uint32_t timestamp_delta;
    uint16_t picture_delta;
    uint8_t tl0_delta;
  };

  // Where the read forwards the packets of one SSRC this transform unprotects (setRoute,
  // setVideoRoute). A video route takes only the layer's next packet (`next`), one that starts no
  // keyframe, and notes each in its ring.
  struct Route {
    uint32_t ssrc;
    std::vector<double> targets;  // SendTarget handles (audio)
    std::vector<VideoTarget> video;
    uint16_t next = 0;
    VideoRing* ring = nullptr;
  };

  // The route of `ssrc`, or nullptr: none, or no forwarding by the read (no log, no extension).
  Route* FindRoute(uint32_t ssrc) {
    if (routes_.empty() || route_extension_ <= 0 || log_ == nullptr) return nullptr;
    for (Route& route : routes_) {
      if (route.ssrc == ssrc) return &route;
    }
    return nullptr;
  }
  bool IsVp8(int payload_type) const { return (vp8_types_[payload_type >> 3] >> (payload_type & 7)) & 1; }
  int route_extension() const { return route_extension_; }
  int audio_level_extension() const { return audio_level_extension_; }
  const uint8_t* blanked() const { return blanked_; }

  // The packet of the record just noted was forwarded by the read: `copies` datagrams, `bytes` of
  // RTP each, in `delay_ns` (a delay sample only when a copy went, as conference.ts counts it).
  void CountForwarded(int32_t level, uint32_t copies, size_t bytes, double delay_ns) {
    log_->Forwarded(level);
    if (copies == 0) return;
    forwarded_[0] += copies;
    forwarded_[1] += double(copies) * double(bytes);
    forwarded_[2] += delay_ns;
    forwarded_[3] += 1;
    forwarded_[4] = std::max(forwarded_[4], delay_ns);
  }

  Transform& transform() { return transform_; }

  // Replay-checks, authenticates and decrypts one SRTP packet in place (srtp-protection.ts
  // unprotectRtp): the plaintext length, or kUnprotectMalformed, kUnprotectReplay, kUnprotectAuth.
  // Only an authenticated packet creates or moves a stream's state.
  long UnprotectRtp(uint8_t* data, size_t length) {
    const long header = RtpHeaderLength(data, long(length) - long(transform_.rtp_overhead()));
    if (header < 0) return kUnprotectMalformed;
    const uint32_t ssrc = ReadU32(data + 8);
    bool recent = false;
    const ReplayWindow* window = replay_.Find(ssrc, &recent);
    const int64_t index = EstimateSrtpIndex(window != nullptr ? window->highest : -1, uint16_t((data[2] << 8) | data[3]));
    if (window != nullptr) {
      // Appendix A's ROC - 1 while the ROC is 0: a packet from before the stream's first one.
      if (RolloverCounter(index) == 0xffffffffu && RolloverCounter(window->highest) == 0) return kUnprotectReplay;
      if (!window->Accepts(index)) return kUnprotectReplay;
    }
    const long plain = transform_.DecryptRtp(data, length, size_t(header), RolloverCounter(index));
    if (plain < 0) return kUnprotectAuth;
    ReplayWindow* kept = recent ? replay_.Recent(ssrc) : replay_.Keep(ssrc, window != nullptr ? *window : ReplayWindow());
    kept->Update(index);
    return plain;
  }

  // The SRTP packet of the plaintext RTP packet `in` (its header length read from it) into `out`,
  // with the rollover counter this transform keeps for its SSRC (RFC 3711 §3.3.1: the highest
  // index sent, srtp-protection.ts #sendingRoc's rules): its length, or -1 when `in` is not an RTP
  // packet or `out` is too small.
  long ProtectRtp(const uint8_t* in, size_t length, uint8_t* out, size_t capacity) {
    const long header = RtpHeaderLength(in, long(length));
    if (header < 0) return -1;
    const uint32_t ssrc = ReadU32(in + 8);
    SentWindow* sent = sent_.Recent(ssrc);
    if (sent == nullptr) {
      bool recent = false;
      const SentWindow* older = sent_.Find(ssrc, &recent);
      sent = sent_.Keep(ssrc, older != nullptr ? *older : SentWindow());
    }
    int64_t index = EstimateSrtpIndex(sent->highest, uint16_t((in[2] << 8) | in[3]));
    // A sequence number far behind while the ROC is still 0: there is no earlier ROC, keep 0 and
    // leave the highest index alone (its place in the window: before the first ROC).
    const bool beforeFirst = RolloverCounter(index) == 0xffffffffu && RolloverCounter(sent->highest) == 0;
    if (beforeFirst) index &= 0xffff;
    if (!sent->Take(beforeFirst ? index - 65536 : index)) return -1;
    if (!beforeFirst && index > sent->highest) sent->highest = index;
    return transform_.EncryptRtp(in, length, size_t(header), RolloverCounter(index), out, capacity);
  }

 private:
  // protectRtp(packet, out) → length written to out, or -1 (ProtectRtp)
  Napi::Value ProtectRtpMethod(const Napi::CallbackInfo& info) {
    uint8_t *in, *out;
    size_t length, capacity;
    if (!Bytes(info[0], &in, &length) || !Bytes(info[1], &out, &capacity)) return Fail(info.Env());
    if (in < out + capacity && out < in + length) return Fail(info.Env());  // overlapping buffers
    return Napi::Number::New(info.Env(), double(ProtectRtp(in, length, out, capacity)));
  }

  // encryptRtp(packet, headerLength, roc, out) → length written to out, or -1
  Napi::Value EncryptRtp(const Napi::CallbackInfo& info) {
    uint8_t *in, *out;
    size_t length, capacity;
    if (!Bytes(info[0], &in, &length) || !Bytes(info[3], &out, &capacity)) return Fail(info.Env());
    if (in < out + capacity && out < in + length) return Fail(info.Env());  // overlapping buffers
    return Napi::Number::New(info.Env(), double(transform_.EncryptRtp(in, length, U32(info[1]), U32(info[2]), out, capacity)));
  }

  // encryptRtcp(packet, index, out) → length written to out, or -1
  Napi::Value EncryptRtcp(const Napi::CallbackInfo& info) {
    uint8_t *in, *out;
    size_t length, capacity;
    if (!Bytes(info[0], &in, &length) || !Bytes(info[2], &out, &capacity)) return Fail(info.Env());
    if (in < out + capacity && out < in + length) return Fail(info.Env());
    return Napi::Number::New(info.Env(), double(transform_.EncryptRtcp(in, length, U32(info[1]) & 0x7fffffffu, out, capacity)));
  }

  // receiveLog(transportCcExtensionId) → { arrivals: Float64Array, fields: Int32Array, state: Int32Array }:
  // from now on the media socket's read notes every RTP packet this transform unprotects
  // (ReceiveLogMemory); the same arrays at every call, the extension id (1-255, 0: none) replaced.
  Napi::Value ReceiveLog(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint32_t extension = U32(info[0]);
    if (extension > 255) return Fail(env);
    log_extension_ = int(extension);
    if (log_ == nullptr) log_ = new ReceiveLogMemory();
    napi_value arrivals, fields, state;
    if (!log_->View(env, log_->arrivals, sizeof log_->arrivals, &arrivals) || !log_->View(env, log_->fields, sizeof log_->fields, &fields) ||
        !log_->View(env, log_->state, sizeof log_->state, &state)) {
      return Fail(env);
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("arrivals", Napi::Float64Array::New(env, kReceiveLogRecords, Napi::ArrayBuffer(env, arrivals), 0));
    result.Set("fields", Napi::Int32Array::New(env, kReceiveLogRecords * kReceiveLogFields, Napi::ArrayBuffer(env, fields), 0));
    result.Set("state", Napi::Int32Array::New(env, 2, Napi::ArrayBuffer(env, state), 0));
    return result;
  }

  // setRouting(transportCcExtensionId, audioLevelExtensionId, blanked: Uint8Array(32)[, vp8:
  // Uint8Array(16)]): the extensions the read's forwarding uses (a packet without the
  // transport-wide sequence number is not forwarded by it), the ids it blanks (a 256-bit set), as
  // JavaScript's forwarding does, and the payload types that carry VP8 (a 128-bit set; video
  // routes take nothing else).
  Napi::Value SetRouting(const Napi::CallbackInfo& info) {
    uint8_t *ids, *vp8 = nullptr;
    size_t length, vp8_length = 0;
    const uint32_t transport = U32(info[0]), level = U32(info[1]);
    if (transport > 255 || level > 255 || !Bytes(info[2], &ids, &length) || length != sizeof blanked_ ||
        (!info[3].IsUndefined() && (!Bytes(info[3], &vp8, &vp8_length) || vp8_length != sizeof vp8_types_))) {
      return Napi::Boolean::New(info.Env(), false);
    }
    route_extension_ = int(transport);
    audio_level_extension_ = int(level);
    memcpy(blanked_, ids, sizeof blanked_);
    if (vp8 != nullptr) memcpy(vp8_types_, vp8, sizeof vp8_types_);
    else memset(vp8_types_, 0, sizeof vp8_types_);
    return Napi::Boolean::New(info.Env(), true);
  }

  // setVideoRoute(ssrc, params: Float64Array) → { meta: Float64Array, bytes: Uint8Array, state:
  // Int32Array } (the route's ring, VideoRing, when it is made), true (the route changed, its
  // ring the one handed out before), or false (refused). The read forwards that layer's packets
  // itself from `next` on, to each receiver re-stamped (ForwardVideo).
  // params: [next, n, then per receiver: send target, SSRC, sequence delta, timestamp delta,
  // PictureID delta, TL0PICIDX delta]; no receiver (n = 0): the layer's packets only noted (a
  // layer nobody takes is still measured and cached). Empty: no route, its ring let go of.
  Napi::Value SetVideoRoute(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      return Napi::Boolean::New(env, false);
    }
    const uint32_t ssrc = info[0].As<Napi::Number>().Uint32Value();
    Napi::Float64Array params = info[1].As<Napi::Float64Array>();
    // Numbers a conversion below takes as they are: none negative, none NaN.
    for (size_t i = 0; i < params.ElementLength(); i++) {
      if (!std::isfinite(params[i]) || params[i] < 0) return Napi::Boolean::New(env, false);
    }
    const size_t count = params.ElementLength() >= 2 ? size_t(params[1]) : 0;
    if ((params.ElementLength() != 0 && params.ElementLength() < 2) || count > kMaxRouteTargets || (params.ElementLength() != 0 && params.ElementLength() != 2 + 6 * count)) {
      return Napi::Boolean::New(env, false);
    }
    auto found = std::find_if(routes_.begin(), routes_.end(), [ssrc](const Route& route) { return route.ssrc == ssrc; });
    if (params.ElementLength() == 0) {
      if (found != routes_.end()) {
        if (found->ring != nullptr) found->ring->Release();
        routes_.erase(found);
      }
      return Napi::Boolean::New(env, true);
    }
    if (found == routes_.end()) {
      if (routes_.size() >= kMaxRoutes) return Napi::Boolean::New(env, false);
      routes_.push_back({ssrc, {}, {}, 0, nullptr});
      found = routes_.end() - 1;
    }
    Route& route = *found;
    route.targets.clear();
    route.next = uint16_t(params[0]);
    route.video.clear();
    for (size_t i = 0; i < count; i++) {
      const size_t at = 2 + 6 * i;
      route.video.push_back({params[at], uint32_t(params[at + 1]), uint16_t(params[at + 2]), uint32_t(params[at + 3]), uint16_t(params[at + 4]), uint8_t(params[at + 5])});
    }
    const bool made = route.ring == nullptr;
    if (made) route.ring = new VideoRing();
    VideoRing* ring = route.ring;
    ring->state[2] = route.next;
    // The views once, when the ring is made: each is an external buffer V8 counts towards its heap.
    if (!made) return Napi::Boolean::New(env, true);
    napi_value meta, bytes, state;
    if (!ring->View(env, ring->meta, sizeof ring->meta, &meta) || !ring->View(env, ring->bytes, sizeof ring->bytes, &bytes) ||
        !ring->View(env, ring->state, sizeof ring->state, &state)) {
      return Fail(env);
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("meta", Napi::Float64Array::New(env, kVideoRingSlots * kVideoRingFields, Napi::ArrayBuffer(env, meta), 0));
    result.Set("bytes", Napi::Uint8Array::New(env, sizeof ring->bytes, Napi::ArrayBuffer(env, bytes), 0));
    result.Set("state", Napi::Int32Array::New(env, sizeof ring->state / sizeof ring->state[0], Napi::ArrayBuffer(env, state), 0));
    return result;
  }

  // setRoute(ssrc, targets: Float64Array of SendTarget handles): what the read unprotects from
  // that SSRC goes to those targets, by the read itself; no targets: to JavaScript again.
  Napi::Value SetRoute(const Napi::CallbackInfo& info) {
    if (!info[0].IsNumber() || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      return Napi::Boolean::New(info.Env(), false);
    }
    const uint32_t ssrc = info[0].As<Napi::Number>().Uint32Value();
    Napi::Float64Array handles = info[1].As<Napi::Float64Array>();
    for (Route& route : routes_) {
      if (route.ssrc == ssrc && route.ring != nullptr) route.ring->Release();
    }
    routes_.erase(std::remove_if(routes_.begin(), routes_.end(), [ssrc](const Route& route) { return route.ssrc == ssrc; }), routes_.end());
    if (handles.ElementLength() > 0) {
      if (routes_.size() >= kMaxRoutes || handles.ElementLength() > kMaxRouteTargets) return Napi::Boolean::New(info.Env(), false);
      routes_.push_back({ssrc, std::vector<double>(handles.Data(), handles.Data() + handles.ElementLength()), {}, 0, nullptr});
    }
    return Napi::Boolean::New(info.Env(), true);
  }

  // takeForwarded() → Float64Array [copies, RTP bytes, delay ns summed, packets, longest delay ns]
  // of what the read forwarded since the last call.
  Napi::Value TakeForwarded(const Napi::CallbackInfo& info) {
    Napi::Float64Array result = Napi::Float64Array::New(info.Env(), 5);
    for (size_t i = 0; i < 5; i++) result[i] = forwarded_[i];
    std::fill(std::begin(forwarded_), std::end(forwarded_), 0.0);
    return result;
  }

  // decryptRtcp(packet) → RTCP length (decrypted in place), or -1
  Napi::Value DecryptRtcp(const Napi::CallbackInfo& info) {
    uint8_t* data;
    size_t length;
    if (!Bytes(info[0], &data, &length)) return Fail(info.Env());
    return Napi::Number::New(info.Env(), double(transform_.DecryptRtcp(data, length)));
  }

  Transform transform_;
  SsrcTable<ReplayWindow> replay_{kReceivingSsrcs};
  // Highest packet index sent, and the indices protected, by SSRC: the rollover counter of what this
  // transform protects, and no index protected twice.
  SsrcTable<SentWindow> sent_{kSendingSsrcs};
  std::shared_ptr<AddonState> state_;
  double handle_ = 0;
  ReceiveLogMemory* log_ = nullptr;
  int log_extension_ = 0;
  static constexpr size_t kMaxRoutes = 64;
  static constexpr size_t kMaxRouteTargets = 1024;
  std::vector<Route> routes_;
  int route_extension_ = 0;
  int audio_level_extension_ = 0;
  uint8_t blanked_[32] = {};
  uint8_t vp8_types_[16] = {};
  double forwarded_[5] = {};
};

// Where the media socket's read forwards packets to one endpoint (SrtpTransform::setRoute): the
// sending transform of its session, the batch and the address (the selected pair's) JavaScript
// sends its own packets to it with, set by the endpoint whenever they change (Endpoint
// #updateSendTarget), and its send log. Cleared, it takes nothing.
class SendTarget : public Napi::ObjectWrap<SendTarget> {
 public:
  static Napi::Function Define(Napi::Env env, AddonState* state) {
    return DefineClass(env, "SendTarget",
                       {InstanceMethod<&SendTarget::Set>("set"), InstanceMethod<&SendTarget::Clear>("clear"), InstanceMethod<&SendTarget::Log>("log")},
                       state);
  }

  explicit SendTarget(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SendTarget>(info) {
    state_ = static_cast<AddonState*>(info.Data())->shared_from_this();
    handle_ = Register(info, state_->targets, this, "too many send targets");
  }

  ~SendTarget() override {
    if (state_) state_->targets.Remove(handle_);
    log_->Release();
  }

  // One forwarded RTP packet (plaintext, `length` bytes) to this endpoint: the next transport-wide
  // sequence number written at `sequence_at`, noted, and the packet protected into the batch.
  // The SRTP length queued, or -1 (not set, or refused: not sent, no number taken).
  long Send(uint8_t* packet, size_t length, size_t sequence_at, double now);
  double batch() const { return batch_; }

 private:
  // set(transformHandle, batchHandle, sockaddr) → whether taken (a sockaddr of the wrong length is not)
  Napi::Value Set(const Napi::CallbackInfo& info) {
    uint8_t* address;
    size_t length;
    if (!info[0].IsNumber() || !info[1].IsNumber() || !Bytes(info[2], &address, &length) ||
        (length != sizeof(sockaddr_in) && length != sizeof(sockaddr_in6))) {
      address_length_ = 0;
      return Napi::Boolean::New(info.Env(), false);
    }
    transform_ = info[0].As<Napi::Number>().DoubleValue();
    batch_ = info[1].As<Napi::Number>().DoubleValue();
    memcpy(&address_, address, length);
    address_length_ = length;
    return Napi::Boolean::New(info.Env(), true);
  }

  Napi::Value Clear(const Napi::CallbackInfo& info) {
    address_length_ = 0;
    transform_ = batch_ = 0;
    return info.Env().Undefined();
  }

  // log() → { times: Float64Array, fields: Int32Array, state: Int32Array, counters: Float64Array }, the same arrays at every call (SendLogMemory)
  Napi::Value Log(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    napi_value times, fields, state, counters;
    if (!log_->View(env, log_->times, sizeof log_->times, &times) || !log_->View(env, log_->fields, sizeof log_->fields, &fields) ||
        !log_->View(env, log_->state, sizeof log_->state, &state) || !log_->View(env, log_->counters, sizeof log_->counters, &counters)) {
      return Fail(env);
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("times", Napi::Float64Array::New(env, kSendLogRecords, Napi::ArrayBuffer(env, times), 0));
    result.Set("fields", Napi::Int32Array::New(env, kSendLogRecords * kSendLogFields, Napi::ArrayBuffer(env, fields), 0));
    result.Set("state", Napi::Int32Array::New(env, 3, Napi::ArrayBuffer(env, state), 0));
    result.Set("counters", Napi::Float64Array::New(env, 3, Napi::ArrayBuffer(env, counters), 0));
    return result;
  }

  std::shared_ptr<AddonState> state_;
  double handle_ = 0;
  double transform_ = 0;
  double batch_ = 0;
  sockaddr_in6 address_ = {};
  size_t address_length_ = 0;
  SendLogMemory* log_ = new SendLogMemory();
};

// The source addresses of received datagrams, each given a small number (its peer id) the first
// time it is seen, so that JavaScript makes one address object per peer instead of one string per
// datagram. Bounded: before a read that could take it over `capacity` peers, the table is emptied
// and a new generation starts (JavaScript then forgets its own table). Never during a read: the
// ids of one read all belong to the generation it is handed on with. So at most capacity + one
// read's datagrams, whatever a flood of source addresses does.
class PeerTable {
 public:
  explicit PeerTable(size_t capacity) : capacity_(capacity) {}

  // Called before each read of up to `incoming` datagrams.
  void MakeRoom(size_t incoming) {
    if (peers_.empty() || peers_.size() + incoming <= capacity_) return;
    ids_.clear();
    peers_.clear();
    receiver_of_id_.clear();
    cache_ = {};
    generation_++;
  }

  uint32_t Id(const sockaddr_in6& from, socklen_t length) {
    const Key key = KeyOf(from, length);
    // The peers of the last reads first, direct-mapped (as SsrcTable's cache: the map hashes 18
    // bytes and divides, per datagram read).
    CachedId& cached = cache_[SlotOf(key)];
    if (cached.valid && cached.key == key) return cached.id;
    auto found = ids_.find(key);
    uint32_t id;
    if (found != ids_.end()) {
      id = found->second;
    } else {
      id = uint32_t(peers_.size());
      ids_.emplace(key, id);
      peers_.push_back(key);
      auto receiver = receivers_.find(key);
      receiver_of_id_.push_back(receiver != receivers_.end() ? receiver->second : 0);
    }
    cached = {key, id, true};
    return id;
  }

  // The SRTP transform (its handle) that unprotects what a peer of this generation sends; 0: none.
  double Receiver(uint32_t id) const { return id < receiver_of_id_.size() ? receiver_of_id_[id] : 0; }

  // Sets (handle ≠ 0) or removes the receiving transform of a peer, by its sockaddr_in or
  // sockaddr_in6 (encodeAddress); false for anything else. Kept across generations: the peer's
  // next id finds it. As many as JavaScript sets (the endpoints' bound addresses).
  bool SetReceiver(const uint8_t* address, size_t length, double handle) {
    sockaddr_in6 from = {};
    if (length == sizeof(sockaddr_in)) {
      memcpy(&from, address, length);
      if (from.sin6_family != AF_INET) return false;
    } else if (length == sizeof(sockaddr_in6)) {
      memcpy(&from, address, length);
      if (from.sin6_family != AF_INET6) return false;
    } else {
      return false;
    }
    const Key key = KeyOf(from, socklen_t(length));
    if (handle != 0) receivers_[key] = handle;
    else receivers_.erase(key);
    auto found = ids_.find(key);
    if (found != ids_.end()) receiver_of_id_[found->second] = handle;
    return true;
  }

  // The peer's address as text (inet_ntop) and port; false for an unknown id.
  bool Describe(uint32_t id, std::string* host, uint16_t* port) const {
    if (id >= peers_.size()) return false;
    const Key& key = peers_[id];
    char text[INET6_ADDRSTRLEN] = {};
    if (inet_ntop(key.family, key.bytes, text, sizeof text) == nullptr) return false;
    *host = text;
    if (key.scope != 0) {
      // As Node's dgram gives it: fe80::1%eth0 (the index when the interface has no name).
      char name[IF_NAMESIZE] = {};
      *host += "%";
      *host += if_indextoname(key.scope, name) != nullptr ? std::string(name) : std::to_string(key.scope);
    }
    *port = uint16_t((key.bytes[16] << 8) | key.bytes[17]);
    return true;
  }

  uint32_t generation() const { return generation_; }

 private:
  struct Key {
    uint8_t bytes[18];  // address (4 or 16 bytes), then the port in network order at 16
    uint8_t family;
    uint32_t scope;  // IPv6 scope id (link-local), else 0
    bool operator==(const Key& other) const {
      return family == other.family && scope == other.scope && memcmp(bytes, other.bytes, sizeof bytes) == 0;
    }
  };
  static Key KeyOf(const sockaddr_in6& from, socklen_t length) {
    Key key = {};
    if (from.sin6_family == AF_INET && length >= socklen_t(sizeof(sockaddr_in))) {
      const sockaddr_in& v4 = reinterpret_cast<const sockaddr_in&>(from);
      key.family = AF_INET;
      memcpy(key.bytes, &v4.sin_addr, 4);
      memcpy(key.bytes + 16, &v4.sin_port, 2);
    } else {
      key.family = AF_INET6;
      memcpy(key.bytes, &from.sin6_addr, 16);
      memcpy(key.bytes + 16, &from.sin6_port, 2);
      key.scope = from.sin6_scope_id;  // link-local peers on different interfaces are different peers
    }
    return key;
  }
  struct KeyHash {
    size_t operator()(const Key& key) const {
      uint64_t hash = (1469598103934665603ULL ^ key.family ^ (uint64_t(key.scope) << 8)) * 1099511628211ULL;  // FNV-1a
      for (uint8_t byte : key.bytes) hash = (hash ^ byte) * 1099511628211ULL;
      return size_t(hash);
    }
  };
  struct CachedId {
    Key key;
    uint32_t id;
    bool valid;
  };
  // A bridge reads from every endpoint: 60 in 20 rooms of three, which in 64 slots mostly shared
  // theirs with another.
  static constexpr size_t kCacheSlots = 256;
  // The port and the address's last four bytes, multiplied in (Fibonacci hashing: the top 8 bits).
  static size_t SlotOf(const Key& key) {
    uint32_t tail = 0;
    memcpy(&tail, key.bytes + (key.family == AF_INET ? 0 : 12), 4);
    const uint32_t port = uint32_t(key.bytes[16]) << 8 | key.bytes[17];
    return size_t(((tail ^ (port * 0x85ebca6bu)) * 2654435761u) >> 24);
  }
  size_t capacity_;
  uint32_t generation_ = 0;
  std::array<CachedId, kCacheSlots> cache_{};  // ids of this generation (MakeRoom empties it)
  std::unordered_map<Key, uint32_t, KeyHash> ids_;
  std::vector<Key> peers_;
  std::unordered_map<Key, double, KeyHash> receivers_;
  std::vector<double> receiver_of_id_;  // by peer id, this generation
};

Napi::Error SystemError(Napi::Env env, const char* syscall, int error, const std::string& where) {
  Napi::Error result = Napi::Error::New(env, std::string(syscall) + " " + strerror(error) + " " + where);
  const char* code = error == EADDRINUSE      ? "EADDRINUSE"
                     : error == EADDRNOTAVAIL ? "EADDRNOTAVAIL"
                     : error == EACCES        ? "EACCES"
                     : error == EAFNOSUPPORT  ? "EAFNOSUPPORT"
                     : error == EMFILE        ? "EMFILE"
                                              : "ESYSTEM";
  result.Set("code", Napi::String::New(env, code));
  result.Set("errno", Napi::Number::New(env, -error));
  result.Set("syscall", Napi::String::New(env, syscall));
  return result;
}

// Delays in 50 µs buckets up to 100 ms (the last bucket holds everything later), and their sum.
class DelayHistogram {
 public:
  static constexpr size_t kBucketsPerMs = 20;               // 50 µs
  static constexpr size_t kBuckets = 100 * kBucketsPerMs;  // up to 100 ms

  void Count(double delay_ms) {
    if (!(delay_ms >= 0)) return;  // the realtime clock was stepped back
    counts_[std::min<size_t>(size_t(delay_ms * kBucketsPerMs), kBuckets - 1)]++;
    sum_ms_ += delay_ms;
  }

  // kBuckets counts, then their sum in ms.
  Napi::Float64Array ToArray(Napi::Env env) const {
    Napi::Float64Array result = Napi::Float64Array::New(env, kBuckets + 1);
    for (size_t i = 0; i < kBuckets; i++) result[i] = double(counts_[i]);
    result[kBuckets] = sum_ms_;
    return result;
  }

 private:
  uint64_t counts_[kBuckets] = {};
  double sum_ms_ = 0;
};

// RTP and RTCP on one port, SRTP or not, by their first two bytes: RFC 7983 §7 (first byte
// 128–191), RFC 5761 §4 (RTCP's packet type, 192–223 with the marker bit, where RTP's is).
static bool IsRtcpPacket(const uint8_t* data, size_t length) {
  return length >= 2 && data[0] >= 128 && data[0] <= 191 && data[1] >= 192 && data[1] <= 223;
}
static bool IsRtpPacket(const uint8_t* data, size_t length) {
  return length >= 2 && data[0] >= 128 && data[0] <= 191 && !(data[1] >= 192 && data[1] <= 223);
}

// CLOCK_REALTIME in ms, the clock of SO_TIMESTAMPNS.
static double RealtimeMs() {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return double(now.tv_sec) * 1e3 + double(now.tv_nsec) / 1e6;
}

// CLOCK_MONOTONIC in ms, for what lasts a while (a path's segment limit), and for the receive logs:
// the clock of uv_hrtime, from which performance.now() counts.
static double MonotonicMs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return double(now.tv_sec) * 1e3 + double(now.tv_nsec) / 1e6;
}

// The bridge's media socket, in place of a Node dgram socket: bound here, read with recvmmsg(2)
// when libuv polls it readable (up to kReadRounds × capacity datagrams per wake-up, so one busy
// socket cannot hold the event loop), and handed to JavaScript one recvmmsg at a time: one
// ArrayBuffer with the datagrams end to end, their lengths and peer ids in `metadata`. Sends:
// sendTo (one datagram, at once) and a UdpBatch on `fd`. Owned by the JavaScript MediaSocket:
// close() stops the poll handle and closes the descriptor; the object stays referenced while it
// polls, so it cannot be collected with libuv still holding it.
class UdpSocket : public Napi::ObjectWrap<UdpSocket> {
 public:
  static Napi::Function Define(Napi::Env env, AddonState* state) {
    return DefineClass(env, "UdpSocket",
                       {InstanceMethod<&UdpSocket::Start>("start"), InstanceMethod<&UdpSocket::SendTo>("sendTo"),
                        InstanceMethod<&UdpSocket::Peer>("peer"), InstanceMethod<&UdpSocket::Close>("close"),
                        InstanceMethod<&UdpSocket::SetReceiver>("setReceiver"), InstanceAccessor<&UdpSocket::Unprotected>("unprotected"),
                        InstanceAccessor<&UdpSocket::UnprotectedBy>("unprotectedBy"), InstanceMethod<&UdpSocket::SetReceiveLogging>("setReceiveLogging"),
                        InstanceAccessor<&UdpSocket::Fd>("fd"), InstanceAccessor<&UdpSocket::Port>("port"),
                        InstanceAccessor<&UdpSocket::Address>("address"), InstanceAccessor<&UdpSocket::Metadata>("metadata"),
                        InstanceAccessor<&UdpSocket::RecvBufferSize>("recvBufferSize"),
                        InstanceAccessor<&UdpSocket::SendBufferSize>("sendBufferSize"),
                        InstanceAccessor<&UdpSocket::Counters>("counters"), InstanceAccessor<&UdpSocket::Arrivals>("arrivals"),
                        InstanceMethod<&UdpSocket::Delays>("delays"), InstanceMethod<&UdpSocket::ReadDelays>("readDelays"),
                        InstanceMethod<&UdpSocket::ResponseDelays>("responseDelays")},
                       state);
  }

  // new UdpSocket(host, port, bufferBytes, capacity, slotBytes, maxPeers): bound, not yet reading.
  // An IPv6 host binds an IPv6-only socket (as dgram's ipv6Only). Throws a system error (code,
  // errno, syscall, as Node's) when the socket cannot be had.
  explicit UdpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpSocket>(info), peers_(std::max<size_t>(1, U32(info[5]))) {
    Napi::Env env = info.Env();
    if (!info[0].IsString() || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "UdpSocket(host, port, …): host must be an IP address").ThrowAsJavaScriptException();
      return;
    }
    const std::string host = info[0].As<Napi::String>().Utf8Value();
    const uint32_t port = U32(info[1]);
    const int buffer_bytes = int(std::min<uint32_t>(U32(info[2]), 1u << 30));
    capacity_ = std::max<size_t>(1, std::min<size_t>(U32(info[3]), 1024));
    slot_bytes_ = std::max<size_t>(256, std::min<size_t>(U32(info[4]), 65536));
    sockaddr_in6 address = {};
    socklen_t address_length = 0;
    sockaddr_in& v4 = reinterpret_cast<sockaddr_in&>(address);
    if (port <= 65535 && inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
      v4.sin_family = AF_INET;
      v4.sin_port = htons(uint16_t(port));
      address_length = sizeof(sockaddr_in);
    } else if (port <= 65535 && inet_pton(AF_INET6, host.c_str(), &address.sin6_addr) == 1) {
      address.sin6_family = AF_INET6;
      address.sin6_port = htons(uint16_t(port));
      address_length = sizeof(sockaddr_in6);
    } else {
      Napi::TypeError::New(env, "UdpSocket: " + host + " is not an IP address, or the port is out of range").ThrowAsJavaScriptException();
      return;
    }
    const std::string where = host + ":" + std::to_string(port);
    fd_ = socket(address.sin6_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      SystemError(env, "socket", errno, where).ThrowAsJavaScriptException();
      return;
    }
    const int on = 1;
    if (address.sin6_family == AF_INET6) setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    // The kernel's arrival time of each datagram (CLOCK_REALTIME), for the wire-to-wire delay.
    setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    // As dgram's recvBufferSize/sendBufferSize: the kernel caps them at net.core.rmem_max/wmem_max.
    if (buffer_bytes > 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
      setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
    }
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), address_length) != 0) {
      const int error = errno;
      ::close(fd_);
      fd_ = -1;
      SystemError(env, "bind", error, where).ThrowAsJavaScriptException();
      return;
    }
    slab_.resize(capacity_ * slot_bytes_);
    handed_.resize(capacity_);
    sources_.resize(capacity_);
    vectors_.resize(capacity_);
    messages_.resize(capacity_);
    controls_.resize(capacity_ * kControlBytes);
    state_ = static_cast<AddonState*>(info.Data())->shared_from_this();
    shared_ = new SharedArrays(capacity_ * 2, capacity_ + 2, capacity_);
    metadata_data_ = shared_->metadata.get();
    unprotected_data_ = shared_->unprotected.get();
    unprotected_by_data_ = shared_->unprotected_by.get();
    // [capacity + 1]: when the recvmmsg handed on returned (ms, CLOCK_REALTIME), so that JavaScript
    // can place each arrival on its own clock: that instant less the datagram's wait.
    arrivals_data_ = shared_->arrivals.get();
    napi_value metadata_buffer, arrivals_buffer, unprotected_buffer, unprotected_by_buffer;
    if (!shared_->View(env, metadata_data_, capacity_ * 2 * sizeof(int32_t), &metadata_buffer) ||
        !shared_->View(env, arrivals_data_, (capacity_ + 2) * sizeof(double), &arrivals_buffer) ||
        !shared_->View(env, unprotected_data_, capacity_ * sizeof(int32_t), &unprotected_buffer) ||
        !shared_->View(env, unprotected_by_data_, capacity_ * sizeof(double), &unprotected_by_buffer)) {
      Napi::Error::New(env, "UdpSocket: no external ArrayBuffer in this runtime").ThrowAsJavaScriptException();
      return;
    }
    metadata_ = Napi::Persistent(Napi::Int32Array::New(env, capacity_ * 2, Napi::ArrayBuffer(env, metadata_buffer), 0));
    arrivals_ = Napi::Persistent(Napi::Float64Array::New(env, capacity_ + 2, Napi::ArrayBuffer(env, arrivals_buffer), 0));
    unprotected_ = Napi::Persistent(Napi::Int32Array::New(env, capacity_, Napi::ArrayBuffer(env, unprotected_buffer), 0));
    unprotected_by_ = Napi::Persistent(Napi::Float64Array::New(env, capacity_, Napi::ArrayBuffer(env, unprotected_by_buffer), 0));
    info.This().As<Napi::Object>().TypeTag(&kSocketTag);
  }

  // The arrival time (ms, CLOCK_REALTIME) of the datagram JavaScript is handling: it writes
  // arrivals[i] into arrivals[capacity] before handing datagram i on, 0 outside; a UdpBatch reads
  // it for each datagram it queues. Negated for a datagram that is not RTP (RTCP, DTLS, STUN):
  // what is sent while it is handled answers it (a retransmission for a NACK, a translated sender
  // report) and counts as a response (CountResponseDelay), not as a forwarded copy.
  double current_arrival() const { return arrivals_data_[capacity_]; }

  // -1 once closed.
  int fd() const { return fd_; }

  // One datagram sent `delay_ms` after the datagram it came from arrived.
  void CountDelay(double delay_ms) { delays_.Count(delay_ms); }
  // One datagram sent `delay_ms` after the control datagram it answers arrived.
  void CountResponseDelay(double delay_ms) { response_delays_.Count(delay_ms); }

  ~UdpSocket() override {
    // Normally reached once libuv has let go of the poll handle (the object is referenced while it
    // polls); at an environment's teardown, whatever is still open is let go of here.
    StopPolling(/*detach=*/true);
    if (shared_ != nullptr) shared_->Release();
  }

 private:
  static constexpr int kReadRounds = 4;
  static constexpr size_t kControlBytes = CMSG_SPACE(sizeof(timespec));

  // start(onDatagrams): onDatagrams(bytes: ArrayBuffer, count, generation) for every recvmmsg that
  // returned datagrams for JavaScript; datagram i is metadata[2i] bytes from peer metadata[2i + 1],
  // end to end in `bytes`, which holds nothing else.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0 || poll_ != nullptr || !info[0].IsFunction()) {
      Napi::Error::New(env, "UdpSocket.start: closed, started already, or no callback").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "UdpSocket.start: no event loop").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Poll* poll = new Poll;
    poll->handle.data = poll;
    int error = uv_poll_init_socket(loop, &poll->handle, fd_);
    if (error != 0) {
      delete poll;  // never initialised: not libuv's to close
      Napi::Error::New(env, std::string("UdpSocket.start: ") + uv_strerror(error)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    // From here libuv holds the handle, and lets go of it only in a later turn (OnClosed). A worker
    // thread's environment that ends meanwhile would unload this addon before that callback: an
    // asynchronous cleanup hook makes the teardown wait for it (OnEnvironmentTeardown).
    if (napi_add_async_cleanup_hook(env, OnEnvironmentTeardown, poll, &poll->cleanup) != napi_ok) poll->cleanup = nullptr;
    if ((error = uv_poll_start(&poll->handle, UV_READABLE, OnReadable)) != 0) {
      poll->closing = true;
      uv_close(reinterpret_cast<uv_handle_t*>(&poll->handle), OnClosed);
      Napi::Error::New(env, std::string("UdpSocket.start: ") + uv_strerror(error)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    poll->owner = this;
    poll_ = poll;
    env_ = env;
    on_datagrams_ = Napi::Persistent(info[0].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(env, "SalonMediaSocket");
    Ref();
    return env.Undefined();
  }

  // sendTo(datagram, sockaddr) → 0, or the errno the kernel refused it with (UDP may lose: never blocks).
  Napi::Value SendTo(const Napi::CallbackInfo& info) {
    uint8_t *data, *address;
    size_t length, address_length;
    if (fd_ < 0) return Napi::Number::New(info.Env(), EBADF);
    if (!Bytes(info[0], &data, &length) || !Bytes(info[1], &address, &address_length) ||
        !(address_length == sizeof(sockaddr_in) || address_length == sizeof(sockaddr_in6))) {
      return Napi::Number::New(info.Env(), EINVAL);
    }
    ssize_t sent;
    do {
      sent = sendto(fd_, data, length, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(address), socklen_t(address_length));
    } while (sent < 0 && errno == EINTR);
    return Napi::Number::New(info.Env(), sent < 0 ? errno : 0);
  }

  // peer(id) → [host, port] of a source seen in this generation, or undefined.
  Napi::Value Peer(const Napi::CallbackInfo& info) {
    std::string host;
    uint16_t port = 0;
    if (!info[0].IsNumber() || !peers_.Describe(U32(info[0]), &host, &port)) return info.Env().Undefined();
    Napi::Array result = Napi::Array::New(info.Env(), 2);
    result.Set(uint32_t(0), Napi::String::New(info.Env(), host));
    result.Set(uint32_t(1), Napi::Number::New(info.Env(), port));
    return result;
  }

  // setReceiver(sockaddr, transformHandle): from now on the SRTP of that peer is unprotected as it
  // is read, with that transform's keys and replay state (unprotected[i]); handle 0 stops it.
  // → false for an address that is not a sockaddr_in / sockaddr_in6.
  Napi::Value SetReceiver(const Napi::CallbackInfo& info) {
    uint8_t* address;
    size_t length;
    const double handle = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
    const bool set = Bytes(info[0], &address, &length) && peers_.SetReceiver(address, length, handle);
    return Napi::Boolean::New(info.Env(), set);
  }

  Napi::Value Unprotected(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kSocketTag)) return info.Env().Undefined();
    return unprotected_.Value();
  }
  Napi::Value UnprotectedBy(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kSocketTag)) return info.Env().Undefined();
    return unprotected_by_.Value();
  }

  // setReceiveLogging(on): whether the read notes what it unprotects in the transforms' receive
  // logs (default on); off, each packet's facts go with it to JavaScript.
  Napi::Value SetReceiveLogging(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kSocketTag)) return info.Env().Undefined();
    log_received_ = info[0].ToBoolean().Value();
    return info.Env().Undefined();
  }

  // close(): no more reads; the descriptor is closed at once (after libuv's watcher is removed, which
  // uv_poll_stop does). Idempotent.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    StopPolling(/*detach=*/false);
    return info.Env().Undefined();
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kSocketTag)) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), fd_);
  }
  Napi::Value Arrivals(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kSocketTag)) return info.Env().Undefined();
    return arrivals_.Value();
  }

  // delays() → Float64Array of DelayHistogram::kBuckets counts, then their sum in ms: bucket i
  // counts the forwarded copies (RTP sent while RTP was handled) sent i/kBucketsPerMs ms (up to the
  // next bucket) after the kernel received what they came from; the last bucket holds everything later.
  Napi::Value Delays(const Napi::CallbackInfo& info) { return delays_.ToArray(info.Env()); }
  // readDelays() → the same for the datagrams read: from the kernel's arrival to the recvmmsg that
  // returned them (the wait for the event loop).
  Napi::Value ReadDelays(const Napi::CallbackInfo& info) { return read_delays_.ToArray(info.Env()); }
  // responseDelays() → the same for what was sent in answer to a datagram that is not RTP, or as
  // RTCP (current_arrival): from the kernel's arrival of that datagram to the send.
  Napi::Value ResponseDelays(const Napi::CallbackInfo& info) { return response_delays_.ToArray(info.Env()); }
  Napi::Value Metadata(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kSocketTag)) return info.Env().Undefined();
    return metadata_.Value();
  }

  Napi::Value Port(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kSocketTag)) return info.Env().Undefined();
    sockaddr_in6 address = {};
    socklen_t length = sizeof address;
    if (fd_ < 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return Napi::Number::New(info.Env(), 0);
    return Napi::Number::New(info.Env(), ntohs(address.sin6_port));  // sin_port and sin6_port share their offset
  }

  // The bound address as text, e.g. "0.0.0.0" or "::1".
  Napi::Value Address(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kSocketTag)) return info.Env().Undefined();
    sockaddr_in6 address = {};
    socklen_t length = sizeof address;
    char text[INET6_ADDRSTRLEN] = {};
    if (fd_ < 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return info.Env().Undefined();
    const void* bytes = address.sin6_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in&>(address).sin_addr)
                                                       : static_cast<const void*>(&address.sin6_addr);
    if (inet_ntop(address.sin6_family, bytes, text, sizeof text) == nullptr) return info.Env().Undefined();
    return Napi::String::New(info.Env(), text);
  }

  Napi::Value RecvBufferSize(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kSocketTag)) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), SocketOption(SO_RCVBUF));
  }
  Napi::Value SendBufferSize(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kSocketTag)) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), SocketOption(SO_SNDBUF));
  }

  // { datagrams, truncated, errors, lastError, unprotected }: received and handed on; dropped for
  // being longer than a slot; failed reads (and the errno of the last); SRTP the read unprotected.
  Napi::Value Counters(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kSocketTag)) return info.Env().Undefined();
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("datagrams", Napi::Number::New(info.Env(), double(datagrams_)));
    result.Set("truncated", Napi::Number::New(info.Env(), double(truncated_)));
    result.Set("errors", Napi::Number::New(info.Env(), double(errors_)));
    result.Set("lastError", Napi::Number::New(info.Env(), last_error_));
    result.Set("unprotected", Napi::Number::New(info.Env(), double(unprotected_count_)));
    result.Set("forwarded", Napi::Number::New(info.Env(), double(forwarded_)));
    return result;
  }

  // SCM_TIMESTAMPNS of a received datagram in ms, or 0 when the kernel gave none.
  static double ArrivalMs(msghdr& header) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
        timespec at;
        memcpy(&at, CMSG_DATA(c), sizeof at);
        return double(at.tv_sec) * 1e3 + double(at.tv_nsec) / 1e6;
      }
    }
    return 0;
  }

  int SocketOption(int option) const {
    int value = 0;
    socklen_t length = sizeof value;
    if (fd_ < 0 || getsockopt(fd_, SOL_SOCKET, option, &value, &length) != 0) return 0;
    return value;
  }

  static void OnReadable(uv_poll_t* handle, int status, int events) {
    UdpSocket* self = static_cast<Poll*>(handle->data)->owner;
    if (self == nullptr) return;
    if (status < 0) {
      // libuv stops a poll handle whose descriptor reports an error (POLLERR): take the socket's
      // pending error (SO_ERROR clears it), count it and poll again, so that the bridge never
      // stops receiving for one ICMP error.
      int error = 0;
      socklen_t length = sizeof error;
      if (self->fd_ >= 0) getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &error, &length);
      self->errors_++;
      self->last_error_ = error != 0 ? error : -status;
      if (self->fd_ >= 0) uv_poll_start(handle, UV_READABLE, OnReadable);
      return;
    }
    self->ReadAll();
  }

  // libuv has let go of the handle: the object (when it still has it) may be collected, and the
  // environment's teardown, when waiting for this, may go on.
  static void OnClosed(uv_handle_t* handle) {
    Poll* poll = static_cast<Poll*>(handle->data);
    UdpSocket* self = poll->owner;
    const napi_async_cleanup_hook_handle cleanup = poll->cleanup;
    delete poll;
    if (self != nullptr) {
      Napi::HandleScope scope(self->env_);
      self->on_datagrams_.Reset();
      self->Unref();  // from here the object may be collected
    }
    if (cleanup != nullptr) napi_remove_async_cleanup_hook(cleanup);
  }

  // The environment is ending (a worker thread stopping) while libuv holds the handle. Node-API
  // finalizes every object after this, referenced or not, so the handle lets go of the object
  // now; it is closed (unless closing already), and OnClosed tells the teardown it is done.
  static void OnEnvironmentTeardown(napi_async_cleanup_hook_handle, void* data) {
    Poll* poll = static_cast<Poll*>(data);
    UdpSocket* self = poll->owner;
    poll->owner = nullptr;
    if (self != nullptr) {
      self->poll_ = nullptr;
      self->CloseDescriptor();
    }
    if (!poll->closing) {
      poll->closing = true;
      uv_poll_stop(&poll->handle);
      uv_close(reinterpret_cast<uv_handle_t*>(&poll->handle), OnClosed);
    }
  }

  // detach: the object is being deleted, so OnClosed must not reach it.
  void StopPolling(bool detach) {
    if (poll_ != nullptr) {
      uv_poll_stop(&poll_->handle);
      if (detach) poll_->owner = nullptr;
      poll_->closing = true;
      uv_close(reinterpret_cast<uv_handle_t*>(&poll_->handle), OnClosed);
      poll_ = nullptr;
    }
    CloseDescriptor();
  }

  void CloseDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  // Reads what is waiting, then sends what the read forwarded (Forward) with what JavaScript
  // queued while it handled the read, in one sendmmsg per batch.
  void ReadAll() {
    ReadRounds();
    for (double handle : touched_batches_) {
      UdpBatch* batch = state_->batches.Find(handle);
      if (batch != nullptr) FlushBatch(*batch);
    }
    touched_batches_.clear();
  }

  void ReadRounds() {
    Napi::HandleScope scope(env_);
    for (int round = 0; round < kReadRounds && fd_ >= 0; round++) {
      handed_streams_.clear();
      for (size_t i = 0; i < capacity_; i++) {
        vectors_[i] = {&slab_[i * slot_bytes_], slot_bytes_};
        memset(&messages_[i], 0, sizeof messages_[i]);
        messages_[i].msg_hdr.msg_name = &sources_[i];
        messages_[i].msg_hdr.msg_namelen = sizeof sources_[i];
        messages_[i].msg_hdr.msg_iov = &vectors_[i];
        messages_[i].msg_hdr.msg_iovlen = 1;
        messages_[i].msg_hdr.msg_control = &controls_[i * kControlBytes];
        messages_[i].msg_hdr.msg_controllen = kControlBytes;
      }
      peers_.MakeRoom(capacity_);
      const int received = recvmmsg(fd_, messages_.data(), unsigned(capacity_), MSG_DONTWAIT, nullptr);
      if (received < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          errors_++;  // e.g. ENOMEM; the socket stays polled
          last_error_ = errno;
        }
        return;
      }
      if (received == 0) return;
      const double read_ms = RealtimeMs();
      // Kernel times (realtime) onto the monotonic clock, for the receive logs.
      const double to_monotonic = MonotonicMs() - read_ms;
      arrivals_data_[capacity_ + 1] = read_ms;
      // Pass 1: each datagram unprotected (and forwarded, when the read forwards it); what is
      // left for JavaScript noted (handed_[count]: its slot), to be copied in pass 2.
      uint32_t count = 0;
      size_t total = 0;
      for (int i = 0; i < received; i++) {
        if (messages_[i].msg_hdr.msg_flags & MSG_TRUNC) {
          truncated_++;
          continue;
        }
        const size_t length = messages_[i].msg_len;
        uint8_t* datagram = &slab_[size_t(i) * slot_bytes_];
        const uint32_t peer = peers_.Id(sources_[i], messages_[i].msg_hdr.msg_namelen);
        const double arrival = ArrivalMs(messages_[i].msg_hdr);
        // As NativeMediaSocket takes it: a kernel time more than 1 s old, or after the read, is a clock step.
        const double wait = read_ms - arrival;
        const double logged_at = (arrival > 0 && wait >= 0 && wait <= 1000 ? arrival : read_ms) + to_monotonic;
        const long outcome = Unprotect(peer, datagram, length, logged_at, arrival, &unprotected_by_data_[count]);
        if (arrival > 0) read_delays_.Count(wait);
        if (outcome == kForwarded) {
          forwarded_++;
          continue;
        }
        unprotected_data_[count] = int32_t(outcome);
        handed_[count] = size_t(i);
        total += length;
        metadata_data_[2 * count] = int32_t(length);
        metadata_data_[2 * count + 1] = int32_t(peer);
        arrivals_data_[count] = arrival;
        count++;
      }
      if (count > 0) {
        // Pass 2: those datagrams end to end in an ArrayBuffer of their own, sized for them alone.
        // Sized for the whole read, forwarded datagrams included, it was about 20 KB a read in 20
        // rooms of three (a thousand reads a second, mostly to hand on one RTCP packet), which with
        // its zeroing and sweeping took 3.6 % of the server's CPU. Not one buffer shared by many
        // reads (tried): one that outlives a young-generation collection or two is promoted and
        // freed only by a full one, and the bridge benchmark's receiving peers, handed all their
        // media through this socket, then took a tenth of a core more.
        // Through Node-API itself: node-addon-api's ArrayBuffer::New aborts the process when the
        // environment no longer runs JavaScript (a worker being terminated); the read is then dropped.
        napi_value buffer;
        void* buffer_data = nullptr;
        if (napi_create_arraybuffer(env_, total, &buffer_data, &buffer) != napi_ok) {
          errors_++;  // what the read forwarded went; what it had for JavaScript is dropped
          return;
        }
        datagrams_ += count;
        uint8_t* out = static_cast<uint8_t*>(buffer_data);
        for (uint32_t k = 0; k < count; k++) {
          const size_t length = size_t(metadata_data_[2 * k]);
          if (length > 0) memcpy(out, &slab_[handed_[k] * slot_bytes_], length);
          out += length;
        }
        napi_value result;
        napi_value args[3] = {buffer, Napi::Number::New(env_, count), Napi::Number::New(env_, peers_.generation())};
        Napi::Object receiver = Value();
        napi_status status = napi_make_callback(env_, *context_, receiver, on_datagrams_.Value(), 3, args, &result);
        if (status != napi_ok) {
          // The handler threw (a bug: it catches what endpoints throw): as for any event handler, the
          // process's uncaught-exception path decides. No exception pending: JavaScript cannot run
          // any more (the environment is ending).
          bool pending = false;
          napi_value error;
          if (napi_is_exception_pending(env_, &pending) == napi_ok && pending && napi_get_and_clear_last_exception(env_, &error) == napi_ok) {
            napi_fatal_exception(env_, error);
          }
          return;
        }
      }
      if (size_t(received) < capacity_) return;
    }
  }

  // An SRTP packet (RFC 7983 first byte 128-191, RFC 5761 not an RTCP packet type) from a peer with a
  // receiving transform, unprotected in place: its UnprotectRtp result, and in `by` the handle of
  // the transform (JavaScript hands the datagram on later, maybe to another endpoint by then: its
  // own transform must be the one); -1 for anything not tried (no transform, or RTCP, DTLS, STUN),
  // which JavaScript handles as it comes.
  // An RTP packet so unprotected is noted in the transform's receive log, if it keeps one and the
  // socket's logging is on (setReceiveLogging), as arriving at `arrival` (ms, monotonic); `by` is
  // then the handle negated. A packet so noted that the transform routes (setRoute) is forwarded
  // here and then (Forward): kForwarded, and JavaScript is not handed the datagram. `kernel_arrival`:
  // the kernel's time of the datagram (ms, realtime; 0: none), for the wire-to-wire delays.
  long Unprotect(uint32_t peer, uint8_t* data, size_t length, double arrival, double kernel_arrival, double* by) {
    *by = 0;
    const double receiver = peers_.Receiver(peer);
    if (receiver == 0 || !IsRtpPacket(data, length)) return -1;
    SrtpTransform* transform = state_->transforms.Find(receiver);
    if (transform == nullptr) return -1;
    *by = receiver;
    unprotected_count_++;
    const long plain = transform->UnprotectRtp(data, length);
    if (plain < 0 || !log_received_) return plain;
    const Noted noted = transform->NoteReceived(data, size_t(plain), arrival);
    if (noted == Noted::kFull) return plain;
    *by = -receiver;
    if (noted == Noted::kRecord && Forward(*transform, data, size_t(plain), kernel_arrival, arrival)) return kForwarded;
    return plain;
  }

  // Forwards an RTP packet the read unprotected and noted to the targets its SSRC is routed to, as
  // the conference's plain forwarding does (conference.ts forwardRtpAt for a source without a
  // projection): its RFC 6464 level read, the blanked extensions zeroed, and to each target the
  // next transport-wide sequence number of its transport written in, protected and queued. False
  // (JavaScript handles it) without a route, or without the transport-wide sequence number to
  // write into (JavaScript adds the extension where a receiver needs it).
  bool Forward(SrtpTransform& from, uint8_t* data, size_t length, double kernel_arrival, double arrival);
  bool ForwardVideo(SrtpTransform& from, SrtpTransform::Route& route, uint8_t* data, size_t length, size_t header, size_t sequence_at,
                    double kernel_arrival, double arrival);
  static void FlushBatch(UdpBatch& batch);

  Napi::Env env_ = nullptr;
  std::shared_ptr<AddonState> state_;
  int fd_ = -1;
  size_t capacity_ = 0;
  size_t slot_bytes_ = 0;
  // libuv's handle, with what its callbacks need once the object may be gone. Freed by OnClosed.
  struct Poll {
    uv_poll_t handle;
    UdpSocket* owner = nullptr;  // none once the object let go of it (closing at deletion, or the teardown)
    napi_async_cleanup_hook_handle cleanup = nullptr;
    bool closing = false;
  };
  Poll* poll_ = nullptr;
  Napi::FunctionReference on_datagrams_;
  std::unique_ptr<Napi::AsyncContext> context_;
  // The arrays JavaScript reads each datagram's length, peer and arrival from (and writes the
  // current arrival into), freed when the socket and every ArrayBuffer over them let go of them.
  struct SharedArrays : SharedMemory<SharedArrays> {
    SharedArrays(size_t metadata_length, size_t arrivals_length, size_t unprotected_length)
        : metadata(new int32_t[metadata_length]()),
          arrivals(new double[arrivals_length]()),
          unprotected(new int32_t[unprotected_length]()),
          unprotected_by(new double[unprotected_length]()) {}
    std::unique_ptr<int32_t[]> metadata;
    std::unique_ptr<double[]> arrivals;
    std::unique_ptr<int32_t[]> unprotected;
    std::unique_ptr<double[]> unprotected_by;
  };
  SharedArrays* shared_ = nullptr;
  Napi::Reference<Napi::Int32Array> metadata_;
  int32_t* metadata_data_ = nullptr;
  Napi::Reference<Napi::Float64Array> arrivals_;
  double* arrivals_data_ = nullptr;
  // Per datagram of a read: what Unprotect made of it.
  Napi::Reference<Napi::Int32Array> unprotected_;
  int32_t* unprotected_data_ = nullptr;
  // Per datagram of a read: the handle of the transform that unprotected it (0: none), negated when
  // the packet went into that transform's receive log.
  Napi::Reference<Napi::Float64Array> unprotected_by_;
  double* unprotected_by_data_ = nullptr;
  std::vector<uint8_t> controls_;
  DelayHistogram delays_;
  DelayHistogram read_delays_;
  DelayHistogram response_delays_;
  PeerTable peers_;
  std::vector<uint8_t> slab_;
  std::vector<size_t> handed_;  // per datagram handed to JavaScript in a read: its slot in slab_
  std::vector<sockaddr_in6> sources_;
  std::vector<iovec> vectors_;
  std::vector<mmsghdr> messages_;
  uint64_t datagrams_ = 0;
  uint64_t forwarded_ = 0;          // datagrams forwarded by the read itself (Forward), not handed on
  std::vector<double> touched_batches_;  // batches Forward queued into during a ReadAll
  // Routed streams (transform, SSRC) of which a packet of the current read went to JavaScript (Forward).
  std::vector<std::pair<const SrtpTransform*, uint32_t>> handed_streams_;
  uint64_t unprotected_count_ = 0;  // SRTP datagrams the read unprotected (whatever the outcome)
  bool log_received_ = true;        // setReceiveLogging
  uint64_t truncated_ = 0;
  uint64_t errors_ = 0;
  int last_error_ = 0;
};

// Outgoing datagrams gathered into slots of one slab and written with sendmmsg(2) on a socket
// the caller owns: a UdpSocket (the bridge's media socket), or a dgram socket's descriptor (the
// SRTP benchmark, tests). Sending beside libuv is safe for UDP: each datagram is one system
// call's whole, and libuv only reads from the socket here.
class UdpBatch : public Napi::ObjectWrap<UdpBatch> {
 public:
  static Napi::Function Define(Napi::Env env, AddonState* state) {
    return DefineClass(env, "UdpBatch",
                       {InstanceMethod<&UdpBatch::Queue>("queue"), InstanceMethod<&UdpBatch::Flush>("flush"),
                        InstanceAccessor<&UdpBatch::Pending>("pending"), InstanceAccessor<&UdpBatch::LastError>("lastError"),
                        InstanceAccessor<&UdpBatch::Segmentation>("segmentation"), InstanceAccessor<&UdpBatch::Sent>("sent")},
                       state);
  }

  // new UdpBatch(fd, capacity, slotBytes[, socket[, segmentation]]): with the UdpSocket whose
  // descriptor fd is, each datagram sent while a datagram is handled counts its wire-to-wire delay
  // there: a forwarded copy in socket.delays(), a response in socket.responseDelays() (Add).
  // segmentation (default true): datagrams of equal length to one peer go out as one message the
  // kernel cuts up (UDP GSO), see SendAll.
  explicit UdpBatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpBatch>(info) {
    fd_ = int(U32(info[0]));
    if (info[3].IsObject() && info[3].As<Napi::Object>().CheckTypeTag(&kSocketTag)) {
      socket_ = UdpSocket::Unwrap(info[3].As<Napi::Object>());
      socket_reference_ = Napi::Persistent(info[3].As<Napi::Object>());  // the socket lives as long as the batch
    }
    capacity_ = std::max<size_t>(1, std::min<size_t>(U32(info[1]), 1024));
    slot_bytes_ = std::max<size_t>(256, std::min<size_t>(U32(info[2]), 65536));
    slab_.resize(capacity_ * slot_bytes_);
    info.This().As<Napi::Object>().TypeTag(&kBatchTag);
    addresses_.resize(capacity_);
    vectors_.resize(capacity_);
    messages_.resize(capacity_);
    arrivals_.resize(capacity_);
    segmentation_ = !info[4].IsBoolean() || info[4].As<Napi::Boolean>().Value();
    if (info[5].IsNumber()) limit_lifetime_ms_ = std::max(0.0, info[5].As<Napi::Number>().DoubleValue());
    // A kernel without UDP GSO (before 4.18) would not refuse a segmented message but send it as one
    // long datagram: segmentation only where the socket option exists.
    if (segmentation_) {
      int segment = 0;
      socklen_t size = sizeof segment;
      const int fd = socket_ != nullptr ? socket_->fd() : fd_;
      segmentation_ = fd >= 0 && getsockopt(fd, SOL_UDP, UDP_SEGMENT, &segment, &size) == 0;
    }
    groups_.reserve(capacity_);
    group_of_.resize(capacity_);
    order_.resize(capacity_);
    group_vectors_.resize(capacity_);
    group_messages_.resize(capacity_);
    group_controls_.resize(capacity_ * kSegmentControlBytes);
    state_ = static_cast<AddonState*>(info.Data())->shared_from_this();
    handle_ = Register(info, state_->batches, this, "too many UDP batches");
  }

  ~UdpBatch() override {
    if (state_) state_->batches.Remove(handle_);
  }

  // Protects an RTP packet into the next slot (flushing first when full; SrtpTransform::ProtectRtp);
  // the SRTP length queued, or -1 when it cannot be (bad arguments, not RTP, too big for a slot):
  // the caller sends it its own way.
  // `copies` > 1 queues the same datagram that many times (protected once: an index is protected once).
  long QueueRtp(SrtpTransform& transform, const uint8_t* packet, size_t length, const uint8_t* address, size_t address_length, uint32_t copies = 1) {
    if (!ValidAddress(address, address_length)) return -1;
    if (count_ == capacity_) SendAll();
    uint8_t* slot = &slab_[count_ * slot_bytes_];
    const long written = transform.ProtectRtp(packet, length, slot, slot_bytes_);
    if (written < 0) return -1;
    Add(slot, size_t(written), address, address_length);
    for (uint32_t copy = 1; copy < copies; copy++) {
      if (count_ == capacity_) SendAll();  // the slab stays as it is: `slot` is still the datagram's bytes
      uint8_t* next = &slab_[count_ * slot_bytes_];
      if (next != slot) memmove(next, slot, size_t(written));
      slot = next;
      Add(slot, size_t(written), address, address_length);
    }
    return written;
  }

  // Sends what is queued now (UdpSocket::ReadAll, after its read forwarded into the batch); what
  // the kernel refused is still reported by the next flush().
  void SendQueued() { SendAll(); }

 private:
  // queue(datagram, sockaddr) → its length, or -1 (too big, bad address).
  Napi::Value Queue(const Napi::CallbackInfo& info) {
    uint8_t *data, *address;
    size_t length, address_length;
    if (!Bytes(info[0], &data, &length) || !Bytes(info[1], &address, &address_length) || !ValidAddress(address, address_length) ||
        length > slot_bytes_) {
      return Fail(info.Env());
    }
    if (count_ == capacity_) SendAll();
    uint8_t* slot = &slab_[count_ * slot_bytes_];
    memcpy(slot, data, length);
    // RTCP (its packet type is in clear in SRTCP too).
    Add(slot, length, address, address_length, IsRtcpPacket(slot, length));
    return Napi::Number::New(info.Env(), double(length));
  }

  // flush() → datagrams the kernel refused since the last flush (their errno in lastError).
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    SendAll();
    const uint32_t failed = failed_;
    failed_ = 0;
    return Napi::Number::New(info.Env(), failed);
  }

  Napi::Value Pending(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kBatchTag)) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), double(count_));
  }
  Napi::Value LastError(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kBatchTag)) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), last_error_);
  }
  // Whether datagrams are still coalesced (false once the kernel refused a segmented message as unsupported).
  Napi::Value Segmentation(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kBatchTag)) return info.Env().Undefined();
    return Napi::Boolean::New(info.Env(), segmentation_);
  }
  // sent → { datagrams, messages, segmented, refused }: datagrams the kernel took, in how many
  // messages, of which how many datagrams went as segments of a coalesced message; and how many
  // coalesced messages the kernel refused (their datagrams then went one by one).
  Napi::Value Sent(const Napi::CallbackInfo& info) {
    if (!Tagged(info, &kBatchTag)) return info.Env().Undefined();
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("datagrams", Napi::Number::New(info.Env(), double(sent_datagrams_)));
    result.Set("messages", Napi::Number::New(info.Env(), double(sent_messages_)));
    result.Set("segmented", Napi::Number::New(info.Env(), double(sent_segmented_)));
    result.Set("refused", Napi::Number::New(info.Env(), double(refused_)));
    return result;
  }

  static bool ValidAddress(const uint8_t* address, size_t length) {
    if (length == sizeof(sockaddr_in)) return reinterpret_cast<const sockaddr_in*>(address)->sin_family == AF_INET;
    if (length == sizeof(sockaddr_in6)) return reinterpret_cast<const sockaddr_in6*>(address)->sin6_family == AF_INET6;
    return false;
  }

  // `response`: RTCP, never a forwarded copy (its delay counts as a response, as that of anything
  // sent while a datagram that is not RTP is handled: current_arrival negative).
  void Add(uint8_t* slot, size_t length, const uint8_t* address, size_t address_length, bool response = false) {
    memcpy(&addresses_[count_], address, address_length);
    vectors_[count_] = {slot, length};
    msghdr& header = messages_[count_].msg_hdr;
    memset(&messages_[count_], 0, sizeof messages_[count_]);
    header.msg_name = &addresses_[count_];
    header.msg_namelen = socklen_t(address_length);
    header.msg_iov = &vectors_[count_];
    header.msg_iovlen = 1;
    const double arrival = socket_ != nullptr ? socket_->current_arrival() : 0;
    arrivals_[count_] = response && arrival > 0 ? -arrival : arrival;  // negative: a response
    count_++;
  }

  // Writes every queued datagram; one the kernel refuses is counted and skipped (a full send
  // buffer, EAGAIN, drops the rest of the batch: UDP may lose, the bridge must not block).
  //
  // With segmentation, consecutive datagrams of one length to one peer (a video frame's packets to
  // one receiver: an encoder cuts a frame into packets of about equal size) go out as one message
  // with a UDP_SEGMENT size (UDP GSO, Linux ≥ 4.18): the stack routes, filters and queues it once
  // and the network card, or the kernel at the last moment, cuts it into the same datagrams. A
  // peer's datagrams keep their order; only datagrams to different peers may swap. A group ends at
  // a shorter datagram (the only one a segmented message may end with), a longer one, or the limits;
  // an empty datagram, or one longer than its peer's path takes as a segment (Refused), goes alone.
  void SendAll() {
    // A batch of a UdpSocket writes on its descriptor as long as it is open, never on a number the
    // kernel may have given to another file since.
    const int fd = socket_ != nullptr ? socket_->fd() : fd_;
    if (fd < 0 && count_ > 0) {
      failed_ += uint32_t(count_);
      last_error_ = EBADF;
      count_ = 0;
      return;
    }
    if (count_ == 0) return;
    const bool grouped = segmentation_ && count_ > 1;
    if (grouped && !peer_limits_.empty()) now_ms_ = MonotonicMs();
    if (grouped) {
      Group();
    } else {
      groups_.clear();
      for (size_t i = 0; i < count_; i++) {
        groups_.push_back({i, 1, 0, 0, false});
        order_[i] = i;
      }
    }
    const size_t groups = groups_.size();
    size_t next = 0;
    bool full = false;
    while (next < groups && !full) {
      if (grouped && !segmentation_) {  // turned off earlier in this flush: the rest one by one
        full = !SendEach(fd, groups_[next++]);
        continue;
      }
      mmsghdr* messages = grouped ? &group_messages_[next] : &messages_[next];
      const int sent = sendmmsg(fd, messages, unsigned(groups - next), MSG_DONTWAIT);
      if (sent > 0) {
        const double now_ms = socket_ != nullptr ? RealtimeMs() : 0;
        for (size_t g = next; g < next + size_t(sent); g++) CountSent(groups_[g], now_ms);
        next += size_t(sent);
        continue;
      }
      if (sent < 0 && errno == EINTR) continue;
      last_error_ = sent < 0 ? errno : EIO;
      if (SendBufferFull(last_error_)) break;
      const GroupSpan& group = groups_[next++];
      if (group.count > 1) {
        Refused(group, last_error_);
        full = !SendEach(fd, group);
      } else {
        failed_++;
      }
    }
    // A full send buffer drops what is left.
    for (size_t g = next; g < groups; g++) failed_ += uint32_t(groups_[g].count);
    count_ = 0;
  }

  static bool SendBufferFull(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS; }

  // One group of datagrams to one peer, in order_[first, first + count): group_messages_[g] sends
  // them (with segment as UDP_SEGMENT when count > 1).
  struct GroupSpan {
    size_t first;
    size_t count;
    size_t segment;
    size_t bytes;
    bool closed;
  };

  static bool SamePeer(const mmsghdr& a, const mmsghdr& b) {
    return a.msg_hdr.msg_namelen == b.msg_hdr.msg_namelen && memcmp(a.msg_hdr.msg_name, b.msg_hdr.msg_name, a.msg_hdr.msg_namelen) == 0;
  }

  // Puts the queued datagrams into groups (groups_, order_) and a message per group (group_messages_).
  void Group() {
    groups_.clear();
    // Pass 1: each datagram's group; a peer has at most one open group, the newest.
    for (size_t i = 0; i < count_; i++) {
      const size_t length = vectors_[i].iov_len;
      size_t found = groups_.size();
      for (size_t g = groups_.size(); g-- > 0;) {
        if (!groups_[g].closed && SamePeer(messages_[group_peer(g)], messages_[i])) {
          found = g;
          break;
        }
      }
      if (found < groups_.size()) {
        GroupSpan& group = groups_[found];
        if (length > group.segment || length == 0 || group.count == kMaxSegments || group.bytes + length > kMaxSegmentedBytes) {
          group.closed = true;
          found = groups_.size();
        } else {
          group.count++;
          group.bytes += length;
          if (length < group.segment) group.closed = true;
        }
      }
      if (found == groups_.size()) {
        // Nothing joins an empty datagram (a segment size of 0 is no segmentation to the kernel) or
        // one longer than its peer's path takes as a segment.
        const bool alone = length == 0 || length > SegmentLimit(messages_[i]);
        groups_.push_back({i, 1, length, length, alone});  // first: the peer's datagram, until pass 2
      }
      group_of_[i] = found;
    }
    // Pass 2: the groups' datagrams end to end in order_, and their messages.
    size_t first = 0;
    for (size_t g = 0; g < groups_.size(); g++) {
      const size_t peer = groups_[g].first;
      mmsghdr& message = group_messages_[g];
      memset(&message, 0, sizeof message);
      message.msg_hdr.msg_name = messages_[peer].msg_hdr.msg_name;
      message.msg_hdr.msg_namelen = messages_[peer].msg_hdr.msg_namelen;
      message.msg_hdr.msg_iov = &group_vectors_[first];
      message.msg_hdr.msg_iovlen = groups_[g].count;
      if (groups_[g].count > 1) {
        uint8_t* control = &group_controls_[g * kSegmentControlBytes];
        memset(control, 0, kSegmentControlBytes);
        message.msg_hdr.msg_control = control;
        message.msg_hdr.msg_controllen = kSegmentControlBytes;
        cmsghdr* c = CMSG_FIRSTHDR(&message.msg_hdr);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        const uint16_t segment = uint16_t(groups_[g].segment);
        memcpy(CMSG_DATA(c), &segment, sizeof segment);
      }
      groups_[g].first = first;
      first += groups_[g].count;
      groups_[g].count = 0;  // counted again as pass 3 fills order_
    }
    for (size_t i = 0; i < count_; i++) {
      GroupSpan& group = groups_[group_of_[i]];
      const size_t at = group.first + group.count++;
      order_[at] = i;
      group_vectors_[at] = vectors_[i];
    }
  }

  // The datagram whose address group g (still in pass 1) sends to.
  size_t group_peer(size_t g) const { return groups_[g].first; }

  // The longest datagram coalesced for a peer: kMaxSegment, or less for one whose path refused a
  // segment that long (0: nothing, for a route that cannot segment) in the last limit lifetime.
  size_t SegmentLimit(const mmsghdr& message) {
    if (peer_limits_.empty()) return kMaxSegment;
    const auto found = peer_limits_.find(PeerKey(message));
    if (found == peer_limits_.end()) return kMaxSegment;
    if (found->second.until_ms <= now_ms_) {
      peer_limits_.erase(found);
      return kMaxSegment;
    }
    return found->second.limit;
  }

  static std::string PeerKey(const mmsghdr& message) {
    return std::string(static_cast<const char*>(message.msg_hdr.msg_name), message.msg_hdr.msg_namelen);
  }

  // A segmented message the kernel refused (SendEach then sends its datagrams one by one).
  // EMSGSIZE (EINVAL before Linux 6.14) is a segment longer than the path to that peer allows (its
  // MTU): that peer gets no datagram that long coalesced again. EIO is a route that cannot segment
  // (IPsec, or on older kernels a device without checksum offload): that peer gets nothing
  // coalesced again. EOPNOTSUPP/ENOPROTOOPT: no segmentation on this batch any more. Anything else
  // (an unreachable peer, a firewall's EPERM) says nothing about segmentation.
  // A peer's limit lasts limit_lifetime_ms_ from its last refusal: a path's MTU may grow again, or
  // the peer move to another path (Linux forgets a learnt path MTU after 10 minutes too), and one
  // refusal then costs a message sent again datagram by datagram.
  void Refused(const GroupSpan& group, int error) {
    refused_++;
    const bool size = error == EMSGSIZE || error == EINVAL;
    if (size || error == EIO) {
      const std::string key = PeerKey(group_messages_[&group - groups_.data()]);
      auto found = peer_limits_.find(key);
      if (found == peer_limits_.end()) {
        if (peer_limits_.size() >= kMaxPeerLimits) peer_limits_.clear();
        found = peer_limits_.emplace(key, PeerLimit{kMaxSegment, 0}).first;
      }
      const double now_ms = MonotonicMs();
      if (found->second.until_ms <= now_ms) found->second.limit = kMaxSegment;  // an expired limit is not lowered further
      found->second.limit = size ? std::min(found->second.limit, group.segment - 1) : 0;
      found->second.until_ms = now_ms + limit_lifetime_ms_;
    } else if (error == EOPNOTSUPP || error == ENOPROTOOPT) {
      segmentation_ = false;
    }
  }

  // Sends a group's datagrams one by one; false when the send buffer is full (the group's rest is
  // then counted as refused, and the caller drops what is left of the batch).
  bool SendEach(int fd, const GroupSpan& group) {
    for (size_t k = group.first; k < group.first + group.count; k++) {
      const size_t i = order_[k];
      ssize_t sent;
      do {
        sent = sendmsg(fd, &messages_[i].msg_hdr, MSG_DONTWAIT);
      } while (sent < 0 && errno == EINTR);
      if (sent < 0) {
        last_error_ = errno;
        if (SendBufferFull(last_error_)) {
          failed_ += uint32_t(group.first + group.count - k);
          return false;
        }
        failed_++;
        continue;
      }
      CountSent({k, 1, 0, 0, false}, socket_ != nullptr ? RealtimeMs() : 0);
    }
    return true;
  }

  // Counts a message the kernel took, and each of its datagrams' wire-to-wire delay (a forwarded
  // copy's, or a response's: its arrival negated).
  void CountSent(const GroupSpan& group, double now_ms) {
    sent_messages_++;
    sent_datagrams_ += group.count;
    if (group.count > 1) sent_segmented_ += group.count;
    if (socket_ == nullptr) return;
    for (size_t k = group.first; k < group.first + group.count; k++) {
      const double arrival = arrivals_[order_[k]];
      if (arrival > 0) {
        socket_->CountDelay(now_ms - arrival);
      } else if (arrival < 0) {
        socket_->CountResponseDelay(now_ms + arrival);
      }
    }
  }

  // Kernel limits: UDP_MAX_SEGMENTS (64, 128 in recent kernels; before 5.16 the kernel counted the
  // headers in, so 64 full segments could be refused with EINVAL); a UDP length is 16 bits.
  static constexpr size_t kMaxSegments = 63;
  static constexpr size_t kMaxSegmentedBytes = 60000;
  static constexpr size_t kSegmentControlBytes = CMSG_SPACE(sizeof(uint16_t));
  // Longest datagram coalesced: an IPv6 datagram's payload in a 1 500-byte MTU.
  static constexpr size_t kMaxSegment = 1452;
  // Peers with a lower limit remembered at once (forgotten together beyond it).
  static constexpr size_t kMaxPeerLimits = 4096;

  bool segmentation_ = true;
  // Peer (its sockaddr's bytes) → the longest datagram coalesced for it, after its path refused
  // longer, until when (MonotonicMs).
  struct PeerLimit {
    size_t limit;
    double until_ms;
  };
  std::unordered_map<std::string, PeerLimit> peer_limits_;
  double limit_lifetime_ms_ = 600000;
  double now_ms_ = 0;  // MonotonicMs at the flush, read only when some peer has a limit
  uint64_t refused_ = 0;
  std::vector<GroupSpan> groups_;
  std::vector<size_t> group_of_;
  std::vector<size_t> order_;
  std::vector<iovec> group_vectors_;
  std::vector<mmsghdr> group_messages_;
  std::vector<uint8_t> group_controls_;
  uint64_t sent_datagrams_ = 0;
  uint64_t sent_messages_ = 0;
  uint64_t sent_segmented_ = 0;

  int fd_ = -1;
  UdpSocket* socket_ = nullptr;
  Napi::ObjectReference socket_reference_;
  std::vector<double> arrivals_;
  size_t capacity_ = 0;
  size_t slot_bytes_ = 0;
  size_t count_ = 0;
  uint32_t failed_ = 0;
  int last_error_ = 0;
  std::vector<uint8_t> slab_;
  std::vector<sockaddr_in6> addresses_;
  std::vector<iovec> vectors_;
  std::vector<mmsghdr> messages_;
  std::shared_ptr<AddonState> state_;
  double handle_ = 0;
};

long SendTarget::Send(uint8_t* packet, size_t length, size_t sequence_at, double now) {
  SrtpTransform* transform = address_length_ > 0 ? state_->transforms.Find(transform_) : nullptr;
  UdpBatch* batch = transform != nullptr ? state_->batches.Find(batch_) : nullptr;
  if (batch == nullptr) {
    log_->counters[2]++;
    return -1;
  }
  const uint16_t sequence = uint16_t(log_->state[0]);
  packet[sequence_at] = uint8_t(sequence >> 8);
  packet[sequence_at + 1] = uint8_t(sequence);
  const long written = batch->QueueRtp(*transform, packet, length, reinterpret_cast<const uint8_t*>(&address_), address_length_);
  if (written < 0) {
    log_->counters[2]++;
    return -1;
  }
  log_->Take(length, now);
  log_->counters[0]++;
  log_->counters[1] += double(written);
  return written;
}

bool UdpSocket::Forward(SrtpTransform& from, uint8_t* data, size_t length, double kernel_arrival, double arrival) {
  const uint32_t ssrc = ReadU32(data + 8);
  SrtpTransform::Route* route = from.FindRoute(ssrc);
  if (route == nullptr) return false;
  // A stream's packets keep their order: JavaScript sends what it is handed after the read's own
  // sends, so once one of this read went to JavaScript, the stream's next ones of the read follow it.
  const std::pair<const SrtpTransform*, uint32_t> stream(&from, ssrc);
  // A video layer's packet JavaScript is handed is the projection's newest once it handled it: the
  // route goes on after it, as the route JavaScript would make anew then.
  const auto handed = [&]() {
    if (route->ring != nullptr) {
      const uint16_t sequence = uint16_t((data[2] << 8) | data[3]);
      if (uint16_t(sequence - route->next) < 0x8000) {
        route->next = uint16_t(sequence + 1);
        route->ring->state[2] = route->next;
      }
    }
    return false;
  };
  if (std::find(handed_streams_.begin(), handed_streams_.end(), stream) != handed_streams_.end()) return handed();
  const long header = RtpHeaderLength(data, long(length));
  const int extension = from.route_extension();
  size_t size = 0;
  const long sequence_at = header < 0 || ((from.blanked()[extension >> 3] >> (extension & 7)) & 1) ? -1 : ExtensionValue(data, size_t(header), extension, &size);
  if (sequence_at < 0 || size < 2) {
    handed_streams_.push_back(stream);
    return handed();
  }
  if (route->ring != nullptr) {
    if (ForwardVideo(from, *route, data, length, size_t(header), size_t(sequence_at), kernel_arrival, arrival)) return true;
    handed_streams_.push_back(stream);
    return handed();
  }
  // The level before the blanking (conference.ts reads it first too).
  int32_t level = -1;
  const long level_at = ExtensionValue(data, size_t(header), from.audio_level_extension(), &size);
  if (level_at >= 0 && size >= 1) level = data[level_at];
  BlankExtensions(data, size_t(header), from.blanked());
  const double start = MonotonicMs();
  // What a batch reads for the wire-to-wire delay of each datagram it queues (current_arrival).
  const double handled = arrivals_data_[capacity_];
  arrivals_data_[capacity_] = kernel_arrival;
  uint32_t copies = 0;
  for (const double handle : route->targets) {
    SendTarget* target = state_->targets.Find(handle);
    if (target == nullptr || target->Send(data, length, size_t(sequence_at), start) < 0) continue;
    copies++;
    if (std::find(touched_batches_.begin(), touched_batches_.end(), target->batch()) == touched_batches_.end()) touched_batches_.push_back(target->batch());
  }
  arrivals_data_[capacity_] = handled;
  from.CountForwarded(level, copies, length, (MonotonicMs() - start) * 1e6);
  return true;
}

// A video layer's packet to its route's receivers, re-stamped for each as the projection would
// (video-projection.ts #forwardMediaTo for a receiver on that layer, with every temporal layer):
// only the next in order, VP8 whose descriptor reads and that starts no keyframe, with room in
// the ring; anything else is JavaScript's (false, the packet untouched).
bool UdpSocket::ForwardVideo(SrtpTransform& from, SrtpTransform::Route& route, uint8_t* data, size_t length, size_t header, size_t sequence_at,
                             double kernel_arrival, double arrival) {
  VideoRing* ring = route.ring;
  const uint16_t sequence = uint16_t((data[2] << 8) | data[3]);
  const size_t waiting = size_t(ring->state[0]);
  // Only a packet that continues the waiting run (JavaScript may not have taken in what came before
  // a packet it was handed, and the route's `next` moved past that one).
  if (sequence != route.next || !from.IsVp8(data[1] & 0x7f) || waiting >= kVideoRingSlots || length > kVideoRingSlotBytes ||
      (waiting > 0 && uint16_t(ring->state[3] + waiting) != sequence)) {
    return false;
  }
  // Note() took the padding as valid.
  const size_t payload_end = length - ((data[0] & 0x20) ? data[length - 1] : 0);
  Vp8Descriptor vp8;
  if (!vp8.Parse(data, header, payload_end) || vp8.keyframe_start) return false;
  BlankExtensions(data, header, from.blanked());
  const uint32_t timestamp = ReadU32(data + 4);
  if (waiting == 0) ring->state[3] = sequence;
  ring->state[0] = int32_t(waiting + 1);
  const size_t slot = sequence & (kVideoRingSlots - 1);
  memcpy(&ring->bytes[slot * kVideoRingSlotBytes], data, length);
  double* meta = &ring->meta[slot * kVideoRingFields];
  meta[0] = sequence;
  meta[1] = timestamp;
  meta[2] = vp8.pid;
  meta[3] = vp8.pid_bits;
  meta[4] = vp8.tl0;
  meta[5] = (data[1] & 0x80) ? 1 : 0;
  meta[6] = double(length);
  meta[7] = arrival;
  route.next = uint16_t(sequence + 1);
  ring->state[2] = route.next;
  const double start = MonotonicMs();
  const double handled = arrivals_data_[capacity_];
  arrivals_data_[capacity_] = kernel_arrival;
  uint32_t copies = 0;
  for (const SrtpTransform::VideoTarget& to : route.video) {
    SendTarget* target = state_->targets.Find(to.target);
    if (target == nullptr) continue;
    const uint16_t out_sequence = uint16_t(sequence + to.sequence_delta);
    data[2] = uint8_t(out_sequence >> 8);
    data[3] = uint8_t(out_sequence);
    WriteU32(data + 4, timestamp + to.timestamp_delta);
    WriteU32(data + 8, to.ssrc);
    if (vp8.pid_at >= 0) {
      if (vp8.pid_bits == 15) {
        const int32_t pid = (vp8.pid + to.picture_delta) & 0x7fff;
        data[vp8.pid_at] = uint8_t(0x80 | (pid >> 8));
        data[vp8.pid_at + 1] = uint8_t(pid);
      } else {
        data[vp8.pid_at] = uint8_t((vp8.pid + to.picture_delta) & 0x7f);
      }
    }
    if (vp8.tl0_at >= 0) data[vp8.tl0_at] = uint8_t(vp8.tl0 + to.tl0_delta);
    if (target->Send(data, length, sequence_at, start) < 0) continue;
    copies++;
    if (std::find(touched_batches_.begin(), touched_batches_.end(), target->batch()) == touched_batches_.end()) touched_batches_.push_back(target->batch());
  }
  arrivals_data_[capacity_] = handled;
  from.CountForwarded(-1, copies, length, (MonotonicMs() - start) * 1e6);
  return true;
}

void UdpSocket::FlushBatch(UdpBatch& batch) { batch.SendQueued(); }

// The two calls made per packet, as plain Node-API functions over handles (see Registry): no
// `this` to unwrap, one call per argument.

// Bytes of a Uint8Array argument in one call; false if it is not one.
bool FastBytes(napi_env env, napi_value value, uint8_t** data, size_t* length) {
  napi_typedarray_type type;
  void* base;
  if (napi_get_typedarray_info(env, value, &type, length, &base, nullptr, nullptr) != napi_ok || type != napi_uint8_array) return false;
  *data = static_cast<uint8_t*>(base);
  return true;
}

bool FastU32(napi_env env, napi_value value, uint32_t* out) { return napi_get_value_uint32(env, value, out) == napi_ok; }

napi_value FastResult(napi_env env, long value) {
  napi_value result;
  napi_create_int32(env, int32_t(value), &result);
  return result;
}

// A per-packet call's N arguments (fewer: a wrong call, nullptr) and the addon's state.
template <size_t N>
AddonState* FastArguments(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  void* data;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok || argc < N) return nullptr;
  return static_cast<AddonState*>(data);
}

// A per-packet call on a transform: its N arguments, the transform the first names and the
// packet the second is; false for a wrong call.
template <size_t N>
bool FastTransformCall(napi_env env, napi_callback_info info, napi_value (&argv)[N], SrtpTransform** transform, uint8_t** packet, size_t* length) {
  AddonState* state = FastArguments(env, info, argv);
  if (state == nullptr) return false;
  *transform = state->transforms.Find(env, argv[0]);
  return *transform != nullptr && FastBytes(env, argv[1], packet, length);
}

// decryptRtp(transformHandle, packet, headerLength, roc) → plaintext length (decrypted in place), or -1
napi_value DecryptRtpFast(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  SrtpTransform* transform;
  uint8_t* packet;
  size_t length;
  uint32_t header, roc;
  if (!FastTransformCall(env, info, argv, &transform, &packet, &length) || !FastU32(env, argv[2], &header) || !FastU32(env, argv[3], &roc)) {
    return FastResult(env, -1);
  }
  return FastResult(env, transform->transform().DecryptRtp(packet, length, header, roc));
}

// unprotectRtp(transformHandle, packet) → plaintext length (replay-checked, authenticated and
// decrypted in place), -2 malformed, -3 replayed or too old, -4 not authentic; -1 for a wrong call
napi_value UnprotectRtpFast(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  SrtpTransform* transform;
  uint8_t* packet;
  size_t length;
  if (!FastTransformCall(env, info, argv, &transform, &packet, &length)) return FastResult(env, -1);
  return FastResult(env, transform->UnprotectRtp(packet, length));
}

// queueRtp(batchHandle, transformHandle, packet, sockaddr[, copies]) → SRTP length queued (each copy), or -1
napi_value QueueRtpFast(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  size_t argc = 5;
  void* data;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok || argc < 4) return FastResult(env, -1);
  AddonState* state = static_cast<AddonState*>(data);
  UdpBatch* batch = state->batches.Find(env, argv[0]);
  SrtpTransform* transform = state->transforms.Find(env, argv[1]);
  uint8_t *packet, *address;
  size_t length, address_length;
  if (batch == nullptr || transform == nullptr || !FastBytes(env, argv[2], &packet, &length) || !FastBytes(env, argv[3], &address, &address_length)) {
    return FastResult(env, -1);
  }
  uint32_t copies = 1;
  if (argc >= 5 && (napi_get_value_uint32(env, argv[4], &copies) != napi_ok || copies < 1 || copies > 8)) copies = 1;
  return FastResult(env, batch->QueueRtp(*transform, packet, length, address, address_length, copies));
}

napi_value MakeFunction(napi_env env, const char* name, napi_callback callback, AddonState* state) {
  napi_value function;
  NAPI_THROW_IF_FAILED(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, state, &function), nullptr);
  return function;
}

// encodeAddress(host, port) → a sockaddr_in or sockaddr_in6 in a Buffer, or undefined.
Napi::Value EncodeAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsNumber()) return env.Undefined();
  const std::string host = info[0].As<Napi::String>().Utf8Value();
  const uint32_t port = info[1].As<Napi::Number>().Uint32Value();
  if (port == 0 || port > 65535) return env.Undefined();
  sockaddr_in v4 = {};
  if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(uint16_t(port));
    return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&v4), sizeof v4);
  }
  sockaddr_in6 v6 = {};
  // fe80::1%eth0: the scope (an interface name or index) as dgram takes it.
  const size_t percent = host.find('%');
  const std::string address = host.substr(0, percent);
  if (inet_pton(AF_INET6, address.c_str(), &v6.sin6_addr) == 1) {
    if (percent != std::string::npos) {
      const std::string scope = host.substr(percent + 1);
      v6.sin6_scope_id = if_nametoindex(scope.c_str());
      if (v6.sin6_scope_id == 0) v6.sin6_scope_id = uint32_t(strtoul(scope.c_str(), nullptr, 10));
      if (v6.sin6_scope_id == 0) return env.Undefined();
    }
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(uint16_t(port));
    return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&v6), sizeof v6);
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Owned by the instance data (freed at the environment's teardown) and by the registered objects;
  // one per environment, also when the module is initialized there a second time.
  void* existing = nullptr;
  if (napi_get_instance_data(env, &existing) != napi_ok) existing = nullptr;
  auto* holder = static_cast<std::shared_ptr<AddonState>*>(existing);
  if (holder == nullptr) {
    holder = new std::shared_ptr<AddonState>(std::make_shared<AddonState>());
    if (napi_set_instance_data(env, holder, [](napi_env, void* data, void*) { delete static_cast<std::shared_ptr<AddonState>*>(data); },
                               nullptr) != napi_ok) {
      delete holder;
      Napi::Error::New(env, "salon_media: no instance data").ThrowAsJavaScriptException();
      return exports;
    }
  }
  AddonState* state = holder->get();
  exports.Set("SrtpTransform", SrtpTransform::Define(env, state));
  exports.Set("UdpBatch", UdpBatch::Define(env, state));
  exports.Set("SendTarget", SendTarget::Define(env, state));
  exports.Set("decryptRtp", Napi::Function(env, MakeFunction(env, "decryptRtp", DecryptRtpFast, state)));
  exports.Set("queueRtp", Napi::Function(env, MakeFunction(env, "queueRtp", QueueRtpFast, state)));
  exports.Set("unprotectRtp", Napi::Function(env, MakeFunction(env, "unprotectRtp", UnprotectRtpFast, state)));
  exports.Set("UdpSocket", UdpSocket::Define(env, state));
  exports.Set("encodeAddress", Napi::Function::New(env, EncodeAddress));
  exports.Set("openssl", Napi::String::New(env, OpenSSL_version(OPENSSL_VERSION)));
  // Indices remembered per SSRC sent (SentWindow): a build without it protects an index twice.
  exports.Set("sentWindow", Napi::Number::New(env, double(kSentWindow)));
  exports.Set("monotonicMs", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), MonotonicMs()); }));
  exports.Set("receiveLogRecords", Napi::Number::New(env, double(kReceiveLogRecords)));
  exports.Set("sendLogRecords", Napi::Number::New(env, double(kSendLogRecords)));
  return exports;
}

}  // namespace

NODE_API_MODULE(salon_media, Init)
