// The definitions of serialize.hpp that need no template argument: included by that header, or
// compiled once by lamina/src.hpp under LAMINA_SEPARATE_COMPILATION.
#pragma once

#include <nlohmann/json.hpp>

#include "lamina/serialize.hpp"

namespace lamina {

LAMINA_DECL std::string load_report::problems() const {
    std::string s;
    for (auto const& n : missing) s += "  missing from the file: " + io::st_detail::in_quotes(n) + "\n";
    for (auto const& n : unexpected) s += "  not in the net: " + io::st_detail::in_quotes(n) + "\n";
    for (auto const& m : mismatched)
        s += "  " + io::st_detail::in_quotes(m.name) + " is " + io::shape_str(m.expected) + " in the net but " +
             io::shape_str(m.found) + " in the file\n";
    for (auto const& [alias, owner] : conflicting)
        s += "  " + io::st_detail::in_quotes(alias) + " holds other values than " + io::st_detail::in_quotes(owner) +
             ", and the net has one tensor for both\n";
    return s;
}

}  // namespace lamina

namespace lamina::detail {

LAMINA_DECL std::string self_test_record(net_runner const& net, tensor_copy const& in, std::string const& who) {
    if (!net.run) throw error(who + ": save_options::self_test_input needs a (non-const) Sequential to run");
    if (!net.takes(in.shape))
        throw error(who + ": save_options::self_test_input has shape " + io::shape_str(in.shape) + " but the net takes " +
                    net.input_str());
    for (std::size_t i = 0; i < in.values.size(); ++i)
        if (!std::isfinite(in.values[i]))
            throw error(who + ": save_options::self_test_input holds " + number(in.values[i]) + " at index " +
                        std::to_string(i) + "; a reference batch must be finite");
    auto const y = net.run(net.batch_of(in.shape), in.values);
    for (double v : y.out)
        if (!std::isfinite(v))
            throw error(who + ": the net's output on save_options::self_test_input is not finite (" + number(v) +
                        "); a reference batch must give finite outputs");
    nlohmann::json rec;
    rec["input"] = {{"shape", in.shape}, {"values", y.in}};
    rec["output"] = {{"shape", net.output_shape(net.batch_of(in.shape))}, {"values", y.out}};
    return rec.dump();
}

// A metadata value that holds JSON, parsed; format_error if it does not.
LAMINA_LOCAL nlohmann::json parse_meta(io::safetensors_file const& f, std::string_view key) {
    auto const& text = f.metadata().at(std::string(key));
    try {
        return nlohmann::json::parse(text);
    } catch (nlohmann::json::exception const&) {
        throw io::format_error("lamina::load: " + io::st_detail::quoted_path(f.path()) + " has the metadata \"" +
                               std::string(key) + "\" that is not valid JSON");
    }
}

LAMINA_DECL reference_batch read_self_test(net_runner const& net, io::safetensors_file const& f) {
    std::string const where = "lamina::load: " + io::st_detail::quoted_path(f.path());
    auto const bad = [&](std::string const& what) -> io::format_error {
        return io::format_error(where + " has a reference batch (\"lamina.self_test\") that " + what);
    };
    auto const j = parse_meta(f, meta_self_test);
    auto const part = [&](char const* name, std::vector<std::size_t>& shape, std::vector<double>& values) {
        if (!j.is_object() || !j.contains(name) || !j[name].is_object() || !j[name].contains("shape") ||
            !j[name].contains("values") || !j[name]["shape"].is_array() || !j[name]["values"].is_array())
            throw bad(std::string("lacks \"") + name + "\": {\"shape\": [...], \"values\": [...]}");
        std::size_t count = 1;
        for (auto const& d : j[name]["shape"]) {
            if (!d.is_number_unsigned() || d.get<std::uint64_t>() > (std::size_t{1} << 40))
                throw bad(std::string("has an ") + name + " shape that is not a list of sizes");
            shape.push_back(d.get<std::size_t>());
            count = shape.back() == 0 || count > (std::size_t{1} << 40) / shape.back() ? 0 : count * shape.back();
        }
        if (count == 0 || count != j[name]["values"].size())
            throw bad(std::string("has ") + std::to_string(j[name]["values"].size()) + " " + name + " values for the shape " +
                      io::shape_str(shape));
        for (auto const& v : j[name]["values"]) {
            if (!v.is_number() || !std::isfinite(v.get<double>()))
                throw bad(std::string("has an ") + name + " value that is not a finite number: " + v.dump());
            values.push_back(v.get<double>());
        }
    };
    reference_batch r;
    part("input", r.in_shape, r.in);
    part("output", r.out_shape, r.out);
    if (!net.takes(r.in_shape)) throw bad("has the input shape " + io::shape_str(r.in_shape) + ", which the net does not take");
    auto const want = net.output_shape(net.batch_of(r.in_shape));
    if (!std::equal(want.begin(), want.end(), r.out_shape.begin(), r.out_shape.end()))
        throw bad("has the output shape " + io::shape_str(r.out_shape) + " but the net gives " +
                  io::shape_str(std::vector<std::size_t>(want.begin(), want.end())));
    return r;
}

// Every value of one parameter, staged before any parameter changes.
using staged_values = std::variant<std::vector<float>, std::vector<double>>;

// "[i, j]": the index of element k of a row-major tensor of that shape.
inline std::string index_str(std::vector<std::size_t> const& shape, std::size_t k) {
    std::string idx;
    for (std::size_t d = shape.size(); d-- > 0; k /= shape[d]) idx = std::to_string(k % shape[d]) + (idx.empty() ? "" : ", ") + idx;
    return "[" + idx + "]";
}

inline std::string non_finite_str(double v) { return std::isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf"; }

// A value refused as not finite as stored: "NaN", "inf", or a double past float's range.
inline std::string refused_value_str(double v) {
    return std::isfinite(v) ? number(v) + ", beyond the range of float," : non_finite_str(v);
}

// The closing line of a strict load's refusal: what a non-strict load would do instead.
inline std::string non_strict_hint(std::size_t fit) {
    return "load_options{.strict = false} loads the " + plural(fit, "parameter that fits", "parameters that fit");
}

LAMINA_DECL void save_net(std::vector<param_entry> const& params, std::string const& arch, net_runner const& runner,
                          std::filesystem::path const& path, save_options const& options) {
    std::string const who = "lamina::save: " + io::st_detail::quoted_path(path);
    if (options.dtype && *options.dtype != io::dtype::f32 && *options.dtype != io::dtype::f64)
        throw error(who + ": save_options::dtype is " + std::string(io::dtype_name(*options.dtype)) +
                    "; lamina writes F32 or F64");
    std::map<std::string, std::string> meta;
    for (auto const& [k, v] : options.metadata) {
        if (k.starts_with("lamina."))
            throw error(who + ": save_options::metadata has the key " + io::st_detail::in_quotes(k) +
                        "; keys that start with \"lamina.\" are lamina's own");
        meta.emplace(k, v);
    }
    std::vector<io::tensor_bytes> tensors;
    for (auto const& p : params) {
        if (p.borrowed) continue;
        std::visit(
            [&](auto d) {
                using V = std::remove_const_t<typename decltype(d)::element_type>;
                auto const type = options.dtype.value_or(io::dtype_of<V>);
                // Checked as stored: a double past float's range becomes an infinity in F32.
                auto const stored = [&](V v) { return type == io::dtype::f32 ? double(static_cast<float>(v)) : double(v); };
                auto const bad = std::ranges::find_if(d, [&](V v) { return !std::isfinite(stored(v)); });
                if (bad != d.end() && !options.allow_non_finite)
                    throw error(who + ": " + io::st_detail::in_quotes(p.name) + " holds " +
                                refused_value_str(double(*bad)) +
                                " at " + index_str(p.shape, static_cast<std::size_t>(bad - d.begin())) +
                                "; lamina::load refuses such a file unless load_options{.allow_non_finite = true}, so "
                                "nothing was written (lamina::save writes it given save_options{.allow_non_finite = true})");
                tensors.push_back({p.name, type, p.shape, io::encode(std::span<V const>(d.data(), d.size()), type)});
            },
            p.values);
    }
    tensors.insert(tensors.end(), options.tensors.begin(), options.tensors.end());
    meta[std::string(meta_format)] = std::to_string(file_format_version);
    meta[std::string(meta_architecture)] = arch;
    nlohmann::json ties = nlohmann::json::object();
    for (auto const& [alias, owner] : ties_of(params)) ties[alias] = owner;
    if (!ties.empty()) meta[std::string(meta_ties)] = ties.dump();
    if (!options.self_test_input.empty()) meta[std::string(meta_self_test)] = self_test_record(runner, options.self_test_input, who);
    io::write_file_atomically(path, io::serialize_safetensors(tensors, meta), "lamina::save");
}

LAMINA_DECL load_report load_net(std::vector<param_entry> const& params, std::string const& arch, net_runner const& runner,
                                 io::safetensors_file const& file, load_options const& options) {
    using io::st_detail::in_quotes;
    using io::st_detail::quoted_path;
    std::string const where = "lamina::load: " + quoted_path(file.path());
    load_report r;
    auto const& meta = file.metadata();
    auto const has = [&](std::string_view k) { return meta.contains(std::string(k)); };

    if (has(meta_format) && meta.at(std::string(meta_format)) != std::to_string(file_format_version))
        throw io::format_error(where + " is in lamina's file format " + in_quotes(meta.at(std::string(meta_format))) +
                               "; this lamina reads format \"" + std::to_string(file_format_version) + "\"");
    if (has(meta_architecture)) {
        r.file_architecture = meta.at(std::string(meta_architecture));
        r.architecture_matches = r.file_architecture == arch;
    }
    // Another architecture is refused after the one matching pass below (nothing in the net
    // changes before it), so that the error also lists the tensors that do not fit; it is the
    // error to report, so the file's ties that the net cannot make are skipped, not thrown on.
    bool const refuse_architecture = !r.architecture_matches && options.strict && options.check_architecture;
    bool const strict_ties = options.strict && !refuse_architecture;

    // The net's parameters under every name, shared ones included, and the ties the net has.
    // (The value type goes with the shape: only parameters of the same type can share.)
    std::map<std::string, std::pair<std::vector<std::size_t>, std::type_index>> net_shapes;
    for (auto const& p : params) net_shapes.emplace(p.name, std::pair(p.shape, std::type_index(*p.type)));
    std::map<std::string, std::string> ties;  // alias -> owner: the net's, then the file's
    for (auto const& [alias, owner] : ties_of(params)) ties.emplace(alias, owner);
    std::vector<std::pair<std::string, std::string>> new_ties;
    std::string refused_ties;  // when not strict, for the problem list of a refusal that follows
    auto const cannot_tie = [](std::string const& alias, std::string const& owner, std::string const& why) {
        return in_quotes(alias) + " to " + in_quotes(owner) + ", which the net cannot: " + why;
    };
    if (has(meta_ties)) {
        auto const j = parse_meta(file, meta_ties);
        if (!j.is_object())
            throw io::format_error(where + " has the metadata \"lamina.ties\" that is not an object {alias: owner}");
        for (auto const& [alias, owner_j] : j.items()) {
            if (!owner_j.is_string())
                throw io::format_error(where + " has the metadata \"lamina.ties\" whose entry " + in_quotes(alias) +
                                       " is not a parameter name");
            std::string const owner = owner_j.template get<std::string>();
            auto const a = net_shapes.find(alias), o = net_shapes.find(owner);
            std::string why;
            if (a == net_shapes.end() || o == net_shapes.end())
                why = "it has no parameter " + in_quotes(a == net_shapes.end() ? alias : owner);
            else if (alias == owner)
                why = "a parameter cannot share itself";
            else if (a->second != o->second)
                why = "they differ in shape or value type";
            else if (auto t = ties.find(alias); t != ties.end() && t->second != owner)
                why = "the net ties " + in_quotes(alias) + " to " + in_quotes(t->second);
            if (!why.empty()) {
                if (strict_ties) throw load_error(where + " ties " + cannot_tie(alias, owner, why), r);
                refused_ties += "  tied in the file: " + cannot_tie(alias, owner, why) + "\n";
                continue;
            }
            if (ties.emplace(alias, owner).second) new_ties.emplace_back(alias, owner);
        }
        // One level only: an owner is no alias, an alias no owner.
        std::erase_if(new_ties, [&](auto const& t) {
            bool const chained = ties.contains(t.second) ||
                                 std::ranges::any_of(ties, [&](auto const& u) { return u.second == t.first; });
            if (chained && strict_ties)
                throw load_error(where + " ties " + cannot_tie(t.first, t.second, "a tied parameter cannot be tied again"), r);
            if (chained) ties.erase(t.first);
            return chained;
        });
    }

    // Match and convert every value into staging buffers; nothing in the net changes yet.
    std::vector<staged_values> staged;
    std::vector<std::string> expected;
    for (auto const& p : params) {
        if (p.borrowed) continue;
        std::string const& name = p.name;
        expected.push_back(name);
        auto const* t = file.find(name);
        std::visit([&](auto d) { staged.emplace_back(std::vector<std::remove_const_t<typename decltype(d)::element_type>>{}); },
                   p.values);
        if (!t) {
            r.missing.push_back(name);
            continue;
        }
        auto const& shape = p.shape;
        if (t->shape != shape) {
            r.mismatched.push_back({name, shape, t->shape});
            continue;
        }
        std::size_t bad = 0;
        std::visit(
            [&](auto& values) {
                values.resize(p.size());
                file.read(*t, std::span(values));
                while (bad < values.size() && std::isfinite(values[bad])) ++bad;
            },
            staged.back());
        if (!options.allow_non_finite && bad < p.size()) {
            double const original = file.read<double>(*t)[bad];
            throw error(where + " holds " +
                        refused_value_str(original) +
                        " in " + in_quotes(name) + " at " + index_str(shape, bad) +
                        " (load_options{.allow_non_finite = true} loads it)");
        }
        r.loaded.push_back(name);
    }
    // A tensor the file holds under a name the net shares (PyTorch lists a tied parameter under
    // every name) is expected: its owner's values are the ones loaded.
    for (auto const& t : file.tensors())
        if (!std::ranges::count(expected, t.name) && !ties.contains(t.name) &&
            (options.skip_prefix.empty() || !t.name.starts_with(options.skip_prefix)))
            r.unexpected.push_back(t.name);
    // The file's ties cover the parameters the net still has separately.
    std::erase_if(r.missing, [&](std::string const& n) { return ties.contains(n); });
    // A tensor under a tied name must hold its owner's values (as PyTorch's tied state_dicts
    // do): the net keeps one tensor for both names, and other values would be dropped unseen.
    for (auto const& t : file.tensors()) {
        auto const tie = ties.find(t.name);
        if (tie == ties.end() || !std::ranges::count(r.loaded, tie->second)) continue;  // an owner not loaded is reported
        if (std::ranges::any_of(r.mismatched, [&](auto const& m) { return m.name == t.name; })) continue;
        auto const& owner_shape = net_shapes.at(tie->second).first;
        if (t.shape != owner_shape) {
            r.mismatched.push_back({t.name, owner_shape, t.shape});
            continue;
        }
        auto const owner = static_cast<std::size_t>(std::ranges::find(expected, tie->second) - expected.begin());
        bool const same = std::visit(
            [&](auto const& owner_values) {
                using V = typename std::remove_cvref_t<decltype(owner_values)>::value_type;
                std::vector<V> v(owner_values.size());
                file.read(t, std::span(v));
                return std::ranges::equal(v, owner_values, [](V a, V b) { return a == b || (std::isnan(a) && std::isnan(b)); });
            },
            staged[owner]);
        if (!same) {
            r.conflicting.emplace_back(t.name, tie->second);
            std::erase(r.loaded, t.name);  // an alias the file ties is a parameter of the net until then
        }
    }

    if (refuse_architecture)
        throw load_error(where + " holds the parameters of " + r.file_architecture + ", not of " + arch +
                             (r.complete() ? " (load_options{.check_architecture = false} loads them: their names and shapes fit)"
                                           : "; its tensors do not fit the net either:\n" + r.problems() + refused_ties +
                                                 non_strict_hint(r.loaded.size())),
                         r);

    if (options.strict && !r.complete())
        throw load_error(where + " does not fit the net: " + plural(r.missing.size(), "parameter", "parameters") +
                             " missing, " + plural(r.unexpected.size(), "tensor", "tensors") +
                             " the net does not have, " + plural(r.mismatched.size(), "shape that differs", "shapes that differ") +
                             (r.conflicting.empty()
                                  ? std::string()
                                  : ", " + plural(r.conflicting.size(), "tied name with values of its own",
                                                  "tied names with values of their own")) +
                             ":\n" + r.problems() + non_strict_hint(r.loaded.size()),
                         r);

    std::optional<reference_batch> ref;
    if (runner.run && options.self_test && has(meta_self_test) && r.complete() && r.architecture_matches)
        ref = read_self_test(runner, file);

    // An alias the file ties gets its owner's values: until the tie is made (last), the
    // forward is already the tied one.
    for (auto const& [alias, owner] : new_ties) {
        auto const a = std::ranges::find(expected, alias), o = std::ranges::find(expected, owner);
        if (a != expected.end() && o != expected.end())
            staged[static_cast<std::size_t>(a - expected.begin())] = staged[static_cast<std::size_t>(o - expected.begin())];
    }
    // Apply, keeping the old values while a self-test can still fail.
    std::vector<staged_values> backup;
    auto const copy_in = [&](std::vector<staged_values> const& from, std::vector<staged_values>* keep) {
        std::size_t k = 0;
        for (auto const& p : params) {
            if (p.borrowed) continue;
            std::visit(
                [&](auto d) {
                    using V = std::remove_const_t<typename decltype(d)::element_type>;
                    if (keep) keep->emplace_back(std::vector<V>(d.begin(), d.end()));
                    auto const& v = std::get<std::vector<V>>(from[k++]);
                    std::copy(v.begin(), v.end(), d.begin());
                },
                p.values);
            p.mark_modified();
        }
    };
    copy_in(staged, ref ? &backup : nullptr);
    {
        if (ref) {
            std::size_t worst = 0;  // the output furthest from the saved one, as the message names it
            double worst_got = 0;
            try {
                auto const y = runner.run(runner.batch_of(ref->in_shape), ref->in);
                for (std::size_t i = 0; i < ref->out.size(); ++i) {
                    double const got = y.out[i], want = ref->out[i];
                    double err = std::abs(got - want) / (1 + std::abs(want));
                    if (std::isnan(err)) err = std::numeric_limits<double>::infinity();
                    if (i == 0 || err > r.self_test_error) {
                        r.self_test_error = err;
                        worst = i;
                        worst_got = got;
                    }
                }
            } catch (...) {
                copy_in(backup, nullptr);
                throw;
            }
            if (!(r.self_test_error <= options.tolerance)) {
                copy_in(backup, nullptr);
                throw load_error(where + " fails its self-test: on the reference batch stored in the file, output " +
                                     std::to_string(worst) + " is " + number(worst_got) + " but was " +
                                     number(ref->out[worst]) + " when the file was saved, a difference of " + number(r.self_test_error) +
                                     " as |output - saved| / (1 + |saved|), the largest of its " +
                                     std::to_string(ref->out.size()) + " outputs, over the tolerance of " +
                                     number(options.tolerance) +
                                     "; the net was left as it was. Does its forward compute what the saving net's did?",
                                 r);
            }
            r.self_tested = true;
        }
    }
    for (auto const& [alias, owner] : new_ties) share_in(params, alias, owner);
    r.tied = new_ties;
    return r;
}

}  // namespace lamina::detail
