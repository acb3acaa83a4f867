// The safetensors format (https://github.com/huggingface/safetensors), read and written:
//   8 bytes   N, the header's length, unsigned little-endian
//   N bytes   a JSON object: {"name": {"dtype": "F32", "shape": [64, 8], "data_offsets": [b, e]},
//             ..., "__metadata__": {"key": "value", ...}}, possibly padded with spaces
//   the rest  the tensors' bytes, little-endian, each at [b, e) of this data section
// The reader trusts nothing in a file: every length, offset and shape is checked before it is
// used, and a bad file is a lamina::io::format_error naming the file and what is wrong.
// Needs nlohmann-json (Debian's nlohmann-json3-dev; meson: dependency('nlohmann_json')).
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
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

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

// Thrown from inside the JSON parser's callback, turned into a format_error outside it.
struct header_problem {
    std::string what;
};

/// One error message prefix for the reader.
[[noreturn]] inline void fail(std::filesystem::path const& file, std::string const& what) {
    throw format_error("lamina::io::read_safetensors: " + quoted_path(file) + " " + what);
}

inline std::vector<std::size_t> read_extents(nlohmann::json const& v, std::string const& key, std::string_view field,
                                             std::filesystem::path const& file) {
    if (!v.is_array())
        fail(file, "has a header entry " + in_quotes(key) + " whose \"" + std::string(field) +
                       "\" is not a list of non-negative integers: " + v.dump(-1, ' ', true));
    std::vector<std::size_t> out;
    out.reserve(v.size());
    for (auto const& d : v) {
        if (!d.is_number_unsigned() || d.get<std::uint64_t>() > std::numeric_limits<std::size_t>::max())
            fail(file, "has a header entry " + in_quotes(key) + " whose \"" + std::string(field) +
                           "\" is not a list of non-negative integers: " + v.dump(-1, ' ', true));
        out.push_back(static_cast<std::size_t>(d.get<std::uint64_t>()));
    }
    return out;
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
inline safetensors_file parse_safetensors(std::span<std::byte const> bytes, std::filesystem::path const& name,
                                          std::vector<std::byte>* owner = nullptr) {
    using nlohmann::json;
    using st_detail::fail;
    using st_detail::in_quotes;
    using st_detail::quoted_path;
    auto const num = [](std::uint64_t v) { return std::to_string(v); };

    if (bytes.size() < 8)
        fail(name, "is truncated: it holds " + num(bytes.size()) + (bytes.size() == 1 ? " byte" : " bytes") +
                       ", fewer than the 8 that give a safetensors file's header length");
    std::uint64_t const n = st_detail::load_le(bytes.data(), 8);
    std::size_t const after = bytes.size() - 8;
    if (n > after)
        fail(name, "declares a header of " + num(n) + " bytes but only " + num(after) +
                       " bytes follow the header length: the file is truncated or not a safetensors file");
    if (n > safetensors_max_header)
        fail(name, "declares a header of " + num(n) + " bytes, more than the " + num(safetensors_max_header) +
                       " a safetensors header may have");
    auto const* text = reinterpret_cast<char const*>(bytes.data() + 8);
    if (n < 2 || text[0] != '{')
        fail(name, "has a header that does not start with '{': not a safetensors file");

    // Duplicate keys (which nlohmann::json would silently overwrite) and deep nesting (which no
    // valid header has) are refused while parsing.
    std::vector<std::set<std::string>> keys;
    std::string top_key;
    json header;
    try {
        header = json::parse(text, text + n, [&](int depth, json::parse_event_t ev, json& v) {
            switch (ev) {
                case json::parse_event_t::object_start:
                case json::parse_event_t::array_start:
                    if (depth > 2)
                        throw st_detail::header_problem{"has a header nested deeper than a safetensors header is (" +
                                                        std::to_string(depth + 1) + " levels)"};
                    if (ev == json::parse_event_t::object_start) keys.emplace_back();
                    break;
                case json::parse_event_t::object_end: keys.pop_back(); break;
                case json::parse_event_t::key: {
                    auto const& k = v.get_ref<std::string const&>();
                    if (depth == 1) top_key = k;
                    if (!keys.back().insert(k).second)
                        throw st_detail::header_problem{
                            depth == 1 ? "has the key " + in_quotes(k) + " twice in its header"
                                       : "has the key " + in_quotes(k) + " twice in the header entry " + in_quotes(top_key)};
                    break;
                }
                default: break;
            }
            return true;
        });
    } catch (st_detail::header_problem const& p) {
        fail(name, p.what);
    } catch (json::exception const& e) {
        std::string m = e.what();
        if (auto i = m.find("] "); m.starts_with("[json.exception.") && i != std::string::npos) m.erase(0, i + 2);
        fail(name, "has a header that is not valid JSON (" + m + ")");
    }
    if (!header.is_object()) fail(name, "has a header that is not a JSON object");

    safetensors_file f;
    f.path_ = name;
    std::size_t const data_size = after - static_cast<std::size_t>(n);
    for (auto const& [key, v] : header.items()) {
        if (key == "__metadata__") {
            if (!v.is_object()) fail(name, "has a \"__metadata__\" entry that is not a JSON object");
            for (auto const& [mk, mv] : v.items()) {
                if (!mv.is_string())
                    fail(name, "has the metadata " + in_quotes(mk) + " whose value is not a string: " + mv.dump(-1, ' ', true));
                f.metadata_.emplace(mk, mv.get<std::string>());
            }
            continue;
        }
        if (!v.is_object()) fail(name, "has a header entry " + in_quotes(key) + " that is not a JSON object");
        for (char const* field : {"dtype", "shape", "data_offsets"})
            if (!v.contains(field))
                fail(name, "has a header entry " + in_quotes(key) + " without \"" + field + "\"");
        tensor_info t;
        t.name = key;
        auto const& dt = v["dtype"];
        auto const row = std::find_if(st_detail::dtypes.begin(), st_detail::dtypes.end(), [&](auto const& r) {
            return dt.is_string() && r.name == dt.get_ref<std::string const&>();
        });
        if (row == st_detail::dtypes.end())
            fail(name, "has the tensor " + in_quotes(key) + " of unknown dtype " + dt.dump(-1, ' ', true) +
                           "; safetensors' dtypes are BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, "
                           "F32, F64, I64, U64");
        t.type = row->type;
        t.shape = st_detail::read_extents(v["shape"], key, "shape", name);
        auto const offsets = st_detail::read_extents(v["data_offsets"], key, "data_offsets", name);
        if (offsets.size() != 2)
            fail(name, "has the tensor " + in_quotes(key) + " whose \"data_offsets\" " + shape_str(offsets) +
                           " are not two numbers [begin, end]");
        t.begin = offsets[0];
        t.end = offsets[1];
        if (t.begin > t.end)
            fail(name, "has the tensor " + in_quotes(key) + " whose data_offsets " + shape_str(offsets) +
                           " end before they begin");
        if (t.end > data_size)
            fail(name, "has the tensor " + in_quotes(key) + " whose data_offsets " + shape_str(offsets) +
                           " reach past the " + num(data_size) + " bytes of data after the header");
        // Element count and byte count, checked for overflow step by step.
        constexpr std::size_t most = std::numeric_limits<std::size_t>::max();
        std::size_t count = std::ranges::find(t.shape, std::size_t{0}) != t.shape.end() ? 0 : 1;
        bool overflow = false;
        for (auto d : t.shape) {
            if (count == 0) break;
            if (count > most / d) overflow = true;
            else count *= d;
        }
        if (overflow || count > most / row->size)
            fail(name, "has the tensor " + in_quotes(key) + " of shape " + shape_str(t.shape) +
                           " whose size in bytes overflows 64 bits");
        if (count * row->size != t.end - t.begin)
            fail(name, "has the tensor " + in_quotes(key) + " of shape " + shape_str(t.shape) + " and dtype " +
                           std::string(row->name) + ", which takes " + num(count * row->size) +
                           " bytes, but its data_offsets " + shape_str(offsets) + " span " + num(t.end - t.begin));
        f.tensors_.push_back(std::move(t));
    }

    // The tensors must tile the data section: no overlap, no gap, nothing after the last.
    std::vector<tensor_info const*> by_offset;
    for (auto const& t : f.tensors_) by_offset.push_back(&t);
    std::ranges::sort(by_offset, [](auto a, auto b) { return std::pair(a->begin, a->end) < std::pair(b->begin, b->end); });
    std::size_t at = 0;
    tensor_info const* prev = nullptr;
    auto const range = [&](tensor_info const* t) {
        return in_quotes(t->name) + " [" + num(t->begin) + ", " + num(t->end) + "]";
    };
    for (auto const* t : by_offset) {
        if (t->begin < at)
            fail(name, "has the tensors " + range(prev) + " and " + range(t) + " whose bytes overlap");
        if (t->begin > at)
            fail(name, "leaves bytes " + num(at) + " to " + num(t->begin) + " of its data unused, " +
                           (prev ? "between " + range(prev) + " and " + range(t) : "before " + range(t)));
        at = t->end;
        prev = t;
    }
    if (at != data_size)
        fail(name, "has " + num(data_size - at) + " bytes of data " +
                       (prev ? "after its last tensor " + range(prev) + " that no tensor claims"
                             : "but no tensor that claims them"));

    auto const header_end = static_cast<std::ptrdiff_t>(8 + n);
    if (owner && owner->data() == bytes.data() && owner->size() == bytes.size()) {
        f.data_ = std::move(*owner);
        f.data_.erase(f.data_.begin(), f.data_.begin() + header_end);
    } else {
        f.data_.assign(bytes.begin() + header_end, bytes.end());
    }
    return f;
}

/// Reads and validates a safetensors file. Throws lamina::error (format_error for a malformed
/// file) naming the file and what is wrong.
inline safetensors_file read_safetensors(std::filesystem::path const& path) {
    auto const fail = [&](std::string const& what) {
        throw error("lamina::io::read_safetensors: " + st_detail::quoted_path(path) + " " + what);
    };
    std::error_code ec;
    auto const st = std::filesystem::status(path, ec);
    if (st.type() == std::filesystem::file_type::not_found) fail("does not exist");
    if (ec) fail("cannot be examined: " + ec.message());
    if (std::filesystem::is_directory(st)) fail("is a directory; expected a safetensors file");
    struct closer {
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };
    std::unique_ptr<std::FILE, closer> f(std::fopen(path.c_str(), "rb"));
    if (!f) fail("cannot be opened: " + std::generic_category().message(errno));
    std::vector<std::byte> bytes;
    if (auto const size = std::filesystem::file_size(path, ec); !ec) bytes.reserve(static_cast<std::size_t>(size));
    std::byte buf[1 << 16];
    for (std::size_t got; (got = std::fread(buf, 1, sizeof buf, f.get())) > 0;) bytes.insert(bytes.end(), buf, buf + got);
    if (std::ferror(f.get())) fail("cannot be read: " + std::generic_category().message(errno));
    return parse_safetensors(bytes, path, &bytes);
}

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
inline std::vector<std::byte> serialize_safetensors(std::span<tensor_bytes const> tensors,
                                                    std::map<std::string, std::string> const& metadata = {}) {
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::size_t at = 0;
    for (auto const& t : tensors) {
        std::size_t count = 1;
        for (auto d : t.shape) count *= d;
        if (t.name == "__metadata__" || header.contains(t.name))
            throw error("lamina::io::serialize_safetensors: the tensor name " + st_detail::in_quotes(t.name) +
                        (t.name == "__metadata__" ? " is reserved" : " appears twice"));
        if (count * dtype_size(t.type) != t.data.size())
            throw error("lamina::io::serialize_safetensors: the tensor " + st_detail::in_quotes(t.name) + " of shape " +
                        shape_str(t.shape) + " and dtype " + std::string(dtype_name(t.type)) + " needs " +
                        std::to_string(count * dtype_size(t.type)) + " bytes but has " + std::to_string(t.data.size()));
        header[t.name] = {{"dtype", dtype_name(t.type)}, {"shape", t.shape}, {"data_offsets", {at, at + t.data.size()}}};
        at += t.data.size();
    }
    std::string text = header.dump();
    text.append((8 - (8 + text.size()) % 8) % 8, ' ');
    std::vector<std::byte> out(8 + text.size());
    st_detail::store_le(out.data(), text.size(), 8);
    std::memcpy(out.data() + 8, text.data(), text.size());
    out.reserve(out.size() + at);
    for (auto const& t : tensors) out.insert(out.end(), t.data.begin(), t.data.end());
    return out;
}

/// Replaces the file at `path` with `bytes` so that, whenever the program stops, the file holds
/// either its old contents or the new ones: it writes a new file in the same directory, syncs
/// it to disk, renames it over the target and syncs the directory. On failure the temporary
/// file is removed, the old file left as it was, and an error names the file and the cause.
inline void write_file_atomically(std::filesystem::path const& path, std::span<std::byte const> bytes,
                                  std::string_view who = "lamina::io::write_file_atomically") {
    auto const say = [&](std::string const& what, int err) {
        return error(std::string(who) + ": " + st_detail::quoted_path(path) + " " + what +
                     (err ? ": " + std::generic_category().message(err) : std::string()));
    };
    if (path.filename().empty()) throw say("names no file", 0);
    std::filesystem::path const dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    std::filesystem::path tmp;
    int fd = -1;
    std::random_device rd;
    for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
        char suffix[32];
        std::snprintf(suffix, sizeof suffix, ".%ld.%08x.tmp", static_cast<long>(::getpid()), rd());
        std::string name(1, '.');  // (not "." + ...: g++ 12 misreports -Wrestrict there)
        name += path.filename().string();
        name += suffix;
        tmp = dir / name;
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) throw say("cannot be written: no temporary file can be created in " + st_detail::quoted_path(dir), errno);
    auto const abandon = [&](std::string const& what, int err) {
        if (fd >= 0) ::close(fd);
        ::unlink(tmp.c_str());
        return say(what, err);
    };
    for (std::size_t done = 0; done < bytes.size();) {
        ssize_t const w = ::write(fd, bytes.data() + done, std::min<std::size_t>(bytes.size() - done, 1 << 30));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) throw abandon("cannot be written (after " + std::to_string(done) + " of " +
                                      std::to_string(bytes.size()) + " bytes)", w < 0 ? errno : EIO);
        done += static_cast<std::size_t>(w);
    }
    if (::fsync(fd) != 0) throw abandon("cannot be written: syncing the temporary file failed", errno);
    int const c = ::close(fd);
    fd = -1;
    if (c != 0) throw abandon("cannot be written: closing the temporary file failed", errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        throw abandon("cannot be replaced by the new file " + st_detail::quoted_path(tmp), errno);
    // The rename is durable once the directory is; some file systems cannot sync a directory
    // (EINVAL), which leaves nothing better to do.
    if (int const d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
        int const r = ::fsync(d), e = errno;
        ::close(d);
        if (r != 0 && e != EINVAL && e != EROFS) throw say("was written, but syncing its directory failed", e);
    }
}

/// Writes a safetensors file atomically (see write_file_atomically).
inline void write_safetensors(std::filesystem::path const& path, std::span<tensor_bytes const> tensors,
                              std::map<std::string, std::string> const& metadata = {}) {
    auto const bytes = serialize_safetensors(tensors, metadata);
    write_file_atomically(path, bytes, "lamina::io::write_safetensors");
}

}  // namespace lamina::io
