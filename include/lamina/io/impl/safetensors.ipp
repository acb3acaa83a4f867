// The definitions of io/safetensors.hpp that need no template argument: included by that header,
// or compiled once by lamina/src.hpp under LAMINA_SEPARATE_COMPILATION.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>

#include <nlohmann/json.hpp>

#include "lamina/io/safetensors.hpp"

namespace lamina::io::st_detail {

// Thrown from inside the JSON parser's callback, turned into a format_error outside it.
struct header_problem {
    std::string what;
};

LAMINA_LOCAL std::vector<std::size_t> read_extents(nlohmann::json const& v, std::string const& key, std::string_view field,
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

}  // namespace lamina::io::st_detail

namespace lamina::io {

LAMINA_DECL safetensors_file parse_safetensors(std::span<std::byte const> bytes, std::filesystem::path const& name,
                                               std::vector<std::byte>* owner) {
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

LAMINA_DECL safetensors_file read_safetensors(std::filesystem::path const& path) {
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

LAMINA_DECL std::vector<std::byte> serialize_safetensors(std::span<tensor_bytes const> tensors,
                                                         std::map<std::string, std::string> const& metadata) {
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

LAMINA_DECL void write_file_atomically(std::filesystem::path const& path, std::span<std::byte const> bytes,
                                       std::string_view who) {
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

LAMINA_DECL void write_safetensors(std::filesystem::path const& path, std::span<tensor_bytes const> tensors,
                                   std::map<std::string, std::string> const& metadata) {
    auto const bytes = serialize_safetensors(tensors, metadata);
    write_file_atomically(path, bytes, "lamina::io::write_safetensors");
}

}  // namespace lamina::io
