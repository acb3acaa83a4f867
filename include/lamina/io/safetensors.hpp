// The safetensors format (https://github.com/huggingface/safetensors), read and written:
//   8 bytes   N, the header's length, unsigned little-endian
//   N bytes   a JSON object: {"name": {"dtype": "F32", "shape": [64, 8], "data_offsets": [b, e]},
//             ..., "__metadata__": {"key": "value", ...}}, possibly padded with spaces
//   the rest  the tensors' bytes, little-endian, each at [b, e) of this data section
// The reader trusts nothing in a file: every length, offset and shape is checked before it is
// used, and a bad file is a lamina::io::format_error naming the file and what is wrong.
// Needs nlohmann-json (Debian's nlohmann-json3-dev; meson: dependency('nlohmann_json')), which only
// the definitions (io/impl/safetensors.ipp) include; see lamina/src.hpp.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "lamina/detail/config.hpp"
#include "lamina/error.hpp"

namespace lamina::io {

/// A file that is not a well-formed safetensors file, or holds something lamina cannot read.
struct format_error : error {
    using error::error;
};

/// The element types of the format. lamina converts f16, bf16, f32 and f64 to and from its
/// parameters; the others are read (their sizes checked) but not converted.
enum class dtype : unsigned char { boolean, u8, i8, f8_e5m2, f8_e4m3, i16, u16, f16, bf16, i32, u32, f32, f64, i64, u64 };

namespace st_detail {

struct dtype_row {
    std::string_view name;
    dtype type;
    std::size_t size;
};
inline constexpr std::array<dtype_row, 15> dtypes{{
    {"BOOL", dtype::boolean, 1}, {"U8", dtype::u8, 1}, {"I8", dtype::i8, 1}, {"F8_E5M2", dtype::f8_e5m2, 1},
    {"F8_E4M3", dtype::f8_e4m3, 1}, {"I16", dtype::i16, 2}, {"U16", dtype::u16, 2}, {"F16", dtype::f16, 2},
    {"BF16", dtype::bf16, 2}, {"I32", dtype::i32, 4}, {"U32", dtype::u32, 4}, {"F32", dtype::f32, 4},
    {"F64", dtype::f64, 8}, {"I64", dtype::i64, 8}, {"U64", dtype::u64, 8},
}};

}  // namespace st_detail

/// The format's name of a dtype: "F32", "BF16", ...
constexpr std::string_view dtype_name(dtype t) noexcept { return st_detail::dtypes[static_cast<std::size_t>(t)].name; }
/// Bytes per element.
constexpr std::size_t dtype_size(dtype t) noexcept { return st_detail::dtypes[static_cast<std::size_t>(t)].size; }
/// Whether lamina converts this dtype to and from float and double.
constexpr bool is_floating(dtype t) noexcept {
    return t == dtype::f16 || t == dtype::bf16 || t == dtype::f32 || t == dtype::f64;
}
/// The dtype that stores T exactly: f32 for float, f64 for double.
template <class T>
inline constexpr dtype dtype_of = std::is_same_v<T, double> ? dtype::f64 : dtype::f32;

/// The largest header read_safetensors accepts (the reference implementation's limit).
inline constexpr std::size_t safetensors_max_header = 100'000'000;

/// One tensor of a file: its name, element type, extents (outermost first) and where its bytes
/// lie in the data section, [begin, end).
struct tensor_info {
    std::string name;
    dtype type = dtype::f32;
    std::vector<std::size_t> shape;
    std::size_t begin = 0, end = 0;

    std::size_t element_count() const noexcept {
        std::size_t n = 1;
        for (auto d : shape) n *= d;  // cannot overflow: checked when the file was read
        return n;
    }
};

/// "[64, 8]"; "[]" for a scalar.
inline std::string shape_str(std::span<std::size_t const> shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

namespace st_detail {

inline std::string in_quotes(std::string_view s) {
    std::string q = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') q += '\\';
        if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            q += buf;
        } else {
            q += static_cast<char>(c);
        }
    }
    return q + '"';
}
inline std::string quoted_path(std::filesystem::path const& p) { return in_quotes(p.string()); }

inline std::uint64_t load_le(std::byte const* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = v << 8 | std::to_integer<std::uint64_t>(p[i]);
    return v;
}
inline void store_le(std::byte* p, std::uint64_t v, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i, v >>= 8) p[i] = static_cast<std::byte>(v & 0xff);
}

/// IEEE binary16 to float, exactly (every half is a float).
inline float half_to_float(std::uint16_t h) noexcept {
    std::uint32_t const sign = std::uint32_t(h & 0x8000u) << 16;
    std::uint32_t const exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0) {  // zero or subnormal: mant * 2^-24
        float const v = std::ldexp(static_cast<float>(mant), -24);
        return sign ? -v : v;
    }
    std::uint32_t const bits = exp == 0x1f ? sign | 0x7f800000u | mant << 13  // inf, nan
                                           : sign | (exp + 112) << 23 | mant << 13;
    return std::bit_cast<float>(bits);
}
inline float bf16_to_float(std::uint16_t b) noexcept { return std::bit_cast<float>(std::uint32_t{b} << 16); }

/// One error message prefix for the reader.
[[noreturn]] inline void fail(std::filesystem::path const& file, std::string const& what) {
    throw format_error("lamina::io::read_safetensors: " + quoted_path(file) + " " + what);
}

}  // namespace st_detail

/// A safetensors file read into memory and validated: the tensors' descriptions in the header's
/// (alphabetical) order, the metadata, and the data section.
class safetensors_file {
public:
    safetensors_file() = default;

    /// The file's path, or the name given to parse_safetensors; used in messages.
    std::filesystem::path const& path() const noexcept { return path_; }
    std::vector<tensor_info> const& tensors() const noexcept { return tensors_; }
    /// The "__metadata__" map (string to string).
    std::map<std::string, std::string> const& metadata() const noexcept { return metadata_; }
    /// The data section: every tensor's bytes.
    std::span<std::byte const> data() const noexcept { return data_; }

    /// The tensor of that name, or nullptr.
    tensor_info const* find(std::string_view name) const noexcept {
        auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                                   [](tensor_info const& t, std::string_view n) { return t.name < n; });
        return it != tensors_.end() && it->name == name ? &*it : nullptr;
    }
    /// The raw little-endian bytes of a tensor.
    std::span<std::byte const> bytes(tensor_info const& t) const noexcept {
        return std::span<std::byte const>(data_).subspan(t.begin, t.end - t.begin);
    }

    /// Converts a tensor's values (F16, BF16, F32 or F64) to T, into out, which holds
    /// t.element_count() values. Other dtypes throw format_error.
    template <class T>
    void read(tensor_info const& t, std::span<T> out) const {
        static_assert(std::is_floating_point_v<T>, "lamina::io::safetensors_file::read converts to float or double");
        if (!is_floating(t.type))
            st_detail::fail(path_, "holds the tensor " + st_detail::in_quotes(t.name) + " of dtype " +
                                       std::string(dtype_name(t.type)) + "; lamina converts F16, BF16, F32 and F64");
        if (out.size() != t.element_count())
            throw error("lamina::io::safetensors_file::read: " + st_detail::in_quotes(t.name) + " holds " +
                        std::to_string(t.element_count()) + " values but the destination holds " +
                        std::to_string(out.size()));
        std::byte const* p = data_.data() + t.begin;
        auto const convert = [&]<std::size_t W>(auto to_value) {
            for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(to_value(st_detail::load_le(p + W * i, W)));
        };
        switch (t.type) {
            case dtype::f16:
                convert.template operator()<2>([](std::uint64_t v) { return st_detail::half_to_float(std::uint16_t(v)); });
                break;
            case dtype::bf16:
                convert.template operator()<2>([](std::uint64_t v) { return st_detail::bf16_to_float(std::uint16_t(v)); });
                break;
            case dtype::f32:
                convert.template operator()<4>([](std::uint64_t v) { return std::bit_cast<float>(std::uint32_t(v)); });
                break;
            default: convert.template operator()<8>([](std::uint64_t v) { return std::bit_cast<double>(v); }); break;
        }
    }
    /// The same into a new vector.
    template <class T>
    std::vector<T> read(tensor_info const& t) const {
        std::vector<T> v(t.element_count());
        read(t, std::span<T>(v));
        return v;
    }

private:
    friend safetensors_file parse_safetensors(std::span<std::byte const>, std::filesystem::path const&,
                                              std::vector<std::byte>*);
    std::filesystem::path path_;
    std::vector<tensor_info> tensors_;
    std::map<std::string, std::string> metadata_;
    std::vector<std::byte> data_;
};

/// Validates and parses the bytes of a safetensors file; `name` stands for the file in
/// messages. Throws format_error on anything malformed. (With `owner`, the vector that holds
/// the bytes, the data section is moved out of it rather than copied.)
LAMINA_DECL safetensors_file parse_safetensors(std::span<std::byte const> bytes, std::filesystem::path const& name,
                                               std::vector<std::byte>* owner = nullptr);

/// Reads and validates a safetensors file. Throws lamina::error (format_error for a malformed
/// file) naming the file and what is wrong.
LAMINA_DECL safetensors_file read_safetensors(std::filesystem::path const& path);

/// One tensor to write: its name, dtype, extents and values as little-endian bytes (see
/// encode).
struct tensor_bytes {
    std::string name;
    dtype type = dtype::f32;
    std::vector<std::size_t> shape;
    std::vector<std::byte> data;
};

/// Values as little-endian bytes of dtype f32 or f64.
template <class T>
std::vector<std::byte> encode(std::span<T const> values, dtype type) {
    if (type != dtype::f32 && type != dtype::f64)
        throw error("lamina::io::encode: writes F32 or F64, not " + std::string(dtype_name(type)));
    std::vector<std::byte> out(values.size() * dtype_size(type));
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (type == dtype::f32)
            st_detail::store_le(out.data() + 4 * i, std::bit_cast<std::uint32_t>(static_cast<float>(values[i])), 4);
        else
            st_detail::store_le(out.data() + 8 * i, std::bit_cast<std::uint64_t>(static_cast<double>(values[i])), 8);
    }
    return out;
}

/// A safetensors file's bytes: the tensors in the given order, the header padded with spaces
/// so that the data starts 8-byte aligned. Throws error on duplicate names or data whose size
/// does not match the shape.
LAMINA_DECL std::vector<std::byte> serialize_safetensors(std::span<tensor_bytes const> tensors,
                                                         std::map<std::string, std::string> const& metadata = {});

/// Replaces the file at `path` with `bytes` so that, whenever the program stops, the file holds
/// either its old contents or the new ones: it writes a new file in the same directory, syncs
/// it to disk, renames it over the target and syncs the directory. On failure the temporary
/// file is removed, the old file left as it was, and an error names the file and the cause.
LAMINA_DECL void write_file_atomically(std::filesystem::path const& path, std::span<std::byte const> bytes,
                                       std::string_view who = "lamina::io::write_file_atomically");

/// Writes a safetensors file atomically (see write_file_atomically).
LAMINA_DECL void write_safetensors(std::filesystem::path const& path, std::span<tensor_bytes const> tensors,
                                   std::map<std::string, std::string> const& metadata = {});

}  // namespace lamina::io

#if !defined(LAMINA_SEPARATE_COMPILATION)
#include "lamina/io/impl/safetensors.ipp"
#endif
