// The definitions of io/idx.hpp: included by that header, or compiled once by lamina/src.hpp
// under LAMINA_SEPARATE_COMPILATION.
#pragma once

#include <zlib.h>

#include "lamina/io/idx.hpp"

namespace lamina::io {

// Not io::detail: other io headers may define helpers of the same names there.
namespace idx_detail {

LAMINA_LOCAL std::string quoted(std::filesystem::path const& p) { return '"' + p.string() + '"'; }

LAMINA_LOCAL std::string dims_str(std::vector<std::size_t> const& dims) {
    std::string s;
    for (auto d : dims) s += (s.empty() ? "" : " x ") + std::to_string(d);
    return s;
}

struct gz_close {
    void operator()(gzFile f) const noexcept { gzclose(f); }
};
using gz_ptr = std::unique_ptr<std::remove_pointer_t<gzFile>, gz_close>;

class idx_reader {
public:
    explicit idx_reader(std::filesystem::path const& p) : path_(p) {
        std::error_code ec;
        auto const st = std::filesystem::status(p, ec);
        if (st.type() == std::filesystem::file_type::not_found)
            fail("does not exist; expected an IDX file, optionally gzip-compressed");
        if (ec) fail("cannot be examined: " + ec.message());
        if (std::filesystem::is_directory(st)) fail("is a directory; expected an IDX file, optionally gzip-compressed");
        f_.reset(gzopen(p.string().c_str(), "rb"));
        if (!f_) fail("cannot be opened: " + std::generic_category().message(errno));
        gzbuffer(f_.get(), 1u << 17);  // zlib's 8 KiB default makes the read syscall-bound
    }

    [[noreturn]] void fail(std::string const& what) const {
        throw error("lamina::io::read_idx: " + quoted(path_) + " " + what);
    }

    /// Reads up to n bytes and returns how many came; a gzip error, including a stream cut
    /// short (which zlib otherwise reports as a quiet end of file), throws.
    std::size_t read(void* dst, std::size_t n) {
        auto* p = static_cast<unsigned char*>(dst);
        std::size_t got = 0;
        while (got < n) {
            // gzread counts in int: read a large n in chunks.
            unsigned const chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
            int const r = gzread(f_.get(), p + got, chunk);
            if (r <= 0) break;
            got += static_cast<std::size_t>(r);
        }
        int err = Z_OK;
        char const* msg = gzerror(f_.get(), &err);
        if (err != Z_OK) {
            std::string m = msg ? msg : "unknown error";
            if (std::string const prefix = path_.string() + ": "; m.starts_with(prefix)) m.erase(0, prefix.size());
            fail("is a corrupt or truncated gzip file (zlib: " + m + ")");
        }
        return got;
    }

private:
    std::filesystem::path path_;
    gz_ptr f_;
};

LAMINA_LOCAL char const* idx_type_name(unsigned t) {
    switch (t) {
        case 0x09: return " (signed byte)";
        case 0x0B: return " (16-bit integer)";
        case 0x0C: return " (32-bit integer)";
        case 0x0D: return " (float)";
        case 0x0E: return " (double)";
        default: return " (not an IDX type)";
    }
}

LAMINA_LOCAL std::string hex(unsigned b) {
    char const* digits = "0123456789abcdef";
    return std::string("0x") + digits[(b >> 4) & 15] + digits[b & 15];
}

}  // namespace idx_detail

}  // namespace lamina::io

namespace lamina::io {

LAMINA_DECL idx_file read_idx(std::filesystem::path const& path) {
    idx_detail::idx_reader in(path);
    unsigned char head[4];
    if (auto const n = in.read(head, 4); n < 4)
        in.fail("ends after " + std::to_string(n) +
                " bytes, inside its header; an IDX file starts with 4 bytes: 0x00 0x00, a type and a rank");
    if (head[0] != 0 || head[1] != 0)
        in.fail("has the magic bytes " + idx_detail::hex(head[0]) + " " + idx_detail::hex(head[1]) +
                "; an IDX file starts with 0x00 0x00");
    if (head[2] != 0x08)
        in.fail("holds elements of type " + idx_detail::hex(head[2]) + idx_detail::idx_type_name(head[2]) +
                "; only 0x08 (unsigned byte) is supported");
    unsigned const rank = head[3];
    if (rank == 0) in.fail("declares 0 dimensions; expected at least 1");

    unsigned char raw[255 * 4];
    if (auto const n = in.read(raw, 4 * rank); n < 4 * rank)
        in.fail("ends inside its header: it declares " + std::to_string(rank) + " dimensions (" +
                std::to_string(4 * rank) + " bytes) but only " + std::to_string(n) + " bytes of them follow");
    idx_file out;
    out.dims.resize(rank);
    for (unsigned d = 0; d < rank; ++d)
        out.dims[d] = std::size_t{raw[4 * d]} << 24 | std::size_t{raw[4 * d + 1]} << 16 |
                      std::size_t{raw[4 * d + 2]} << 8 | std::size_t{raw[4 * d + 3]};
    // Checked step by step, so the product can neither overflow nor reach the allocator.
    std::size_t total = 1;
    if (std::ranges::find(out.dims, std::size_t{0}) != out.dims.end()) total = 0;
    else
        for (auto d : out.dims)
            if ((total *= d) > idx_max_bytes)
                in.fail("has dimensions " + idx_detail::dims_str(out.dims) + ", which promise more than " +
                        std::to_string(idx_max_bytes) + " bytes, the most read_idx accepts");

    out.data.resize(total);
    if (auto const n = in.read(out.data.data(), total); n < total)
        in.fail("holds " + std::to_string(n) + " bytes of data but its header promises " + std::to_string(total) +
                " (" + idx_detail::dims_str(out.dims) + ")");
    // Reading past the end also makes zlib check the gzip trailer (CRC and length).
    unsigned char extra[4096];
    std::size_t trailing = 0;
    for (std::size_t n; (n = in.read(extra, sizeof extra)) > 0 && trailing <= idx_max_bytes;) trailing += n;
    if (trailing > 0)
        in.fail("has " +
                (trailing > idx_max_bytes ? "more than " + std::to_string(idx_max_bytes) : std::to_string(trailing)) +
                (trailing == 1 ? " trailing byte" : " trailing bytes") + " after the " + std::to_string(total) +
                " bytes of data its header promises (" + idx_detail::dims_str(out.dims) + ")");
    return out;
}

LAMINA_DECL dataset load_fashion_mnist(std::filesystem::path const& dir, split s) {
    auto const stem = std::string(s == split::train ? "train" : "t10k");
    auto const find = [&](std::string const& name) {
        auto gz = dir / (name + ".gz"), plain = dir / name;
        if (std::filesystem::exists(gz)) return gz;
        if (std::filesystem::exists(plain)) return plain;
        throw error("lamina::io::load_fashion_mnist: neither " + idx_detail::quoted(gz) + " nor " +
                    idx_detail::quoted(plain) + " exists; Debian's dataset-fashion-mnist package installs them in " +
                    default_fashion_mnist_dir().string());
    };
    auto const image_path = find(stem + "-images-idx3-ubyte"), label_path = find(stem + "-labels-idx1-ubyte");
    auto const fail = [](std::filesystem::path const& p, std::string const& what) {
        throw error("lamina::io::load_fashion_mnist: " + idx_detail::quoted(p) + " " + what);
    };

    auto const img = read_idx(image_path);
    if (img.dims.size() != 3 || img.dims[1] != 28 || img.dims[2] != 28)
        fail(image_path, "has dimensions " + idx_detail::dims_str(img.dims) + "; expected images of n x 28 x 28");
    auto const lab = read_idx(label_path);
    if (lab.dims.size() != 1)
        fail(label_path, "has dimensions " + idx_detail::dims_str(lab.dims) + "; expected labels of n");
    if (img.dims[0] != lab.dims[0])
        fail(label_path, "holds " + std::to_string(lab.dims[0]) + " labels but " + idx_detail::quoted(image_path) +
                             " holds " + std::to_string(img.dims[0]) + " images; expected one label per image");

    dataset ds{tensor<float, shape<dyn, 784>>::empty(img.dims[0]), std::vector<std::int32_t>(lab.data.size())};
    std::ranges::transform(img.data, ds.images.data(), [](std::uint8_t v) { return static_cast<float>(v) / 255.f; });
    for (std::size_t i = 0; i < lab.data.size(); ++i) {
        if (lab.data[i] > 9)
            fail(label_path, "holds the label " + std::to_string(lab.data[i]) + " at index " + std::to_string(i) +
                                 "; expected classes 0 to 9");
        ds.labels[i] = lab.data[i];
    }
    return ds;
}

}  // namespace lamina::io
