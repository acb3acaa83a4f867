// lamina/io/safetensors.hpp and lamina/serialize.hpp: state_dict, safetensors files written and
// read, strict and non-strict loads, the load-time self-test, ties, atomic saves, PyTorch's files,
// every kind of bad file, and checkpoints (lamina/checkpoint.hpp).
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <lamina/checkpoint.hpp>
#include <lamina/io/safetensors.hpp>
#include <lamina/lamina.hpp>
#include <lamina/serialize.hpp>

#include "chapter_layers.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
namespace lm = lamina;
namespace io = lamina::io;
using lamina_test::differences;
using lamina_test::message_has;
using bytes = std::vector<std::byte>;

// The chapter's net, as PyTorch's nn.Sequential(MyLinear(64, 8), MyLinear(8, 1)).
using chapter_net = lm::Sequential<lm::Input<64>, MyDense<8>, MyDense<1>>;

namespace {

// A layer with a parameter, in an anonymous namespace: g++ and clang++ name such types differently.
struct Scale {
    BOOST_HANA_DEFINE_STRUCT(Scale, (lm::param<lm::init::normal, 4>, gain));
    auto operator()(auto const& X) const { return X * gain; }
};
using mixed_net = lm::Sequential<lm::Input<4>, Scale, lm::Dense<3>, lm::Dense<2, lm::ReLU>, CenteredLayer>;

fs::path fixture(std::string const& name) { return fs::path(LAMINA_FIXTURES) / name; }

using lamina_test::temp_dir;

bytes read_bytes(fs::path const& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> c((std::istreambuf_iterator<char>(in)), {});
    bytes b(c.size());
    std::memcpy(b.data(), c.data(), c.size());
    return b;
}
fs::path write_bytes(fs::path const& p, bytes const& b) {
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<char const*>(b.data()), static_cast<std::streamsize>(b.size()));
    return p;
}

/// A safetensors file made by hand: the header length, the header text as given, the data.
bytes st_file(std::string const& header, bytes const& data = {}, std::uint64_t length = std::uint64_t(-1)) {
    if (length == std::uint64_t(-1)) length = header.size();
    bytes b(8);
    for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::byte>(length >> (8 * i));
    for (char c : header) b.push_back(static_cast<std::byte>(c));
    b.insert(b.end(), data.begin(), data.end());
    return b;
}
bytes zeros(std::size_t n) { return bytes(n, std::byte{0}); }
template <class T>
bytes le_bytes(std::vector<T> const& v) {
    return io::encode(std::span<T const>(v), io::dtype_of<T>);
}

/// Parses bytes as the file `name` would be.
io::safetensors_file parse(bytes const& b, std::string const& name = "bad.safetensors") {
    return io::parse_safetensors(b, name);
}

/// Every parameter value of a net, in walk order, as doubles.
template <class Net>
std::vector<double> values_of(Net& net) {
    std::vector<double> v;
    lm::for_each_parameter(net, [&](std::string_view, auto const& p) { v.insert(v.end(), p.data(), p.data() + p.size()); });
    return v;
}

/// The load_error that loading `from` (a path or a parsed file) into `net` throws; a failed
/// check, and an empty error, if it throws none.
template <class Net, class From>
lm::load_error load_error_of(Net& net, From const& from) {
    try {
        lm::load(net, from);
    } catch (lm::load_error const& e) {
        return e;
    }
    FAIL_CHECK("no load_error");
    return lm::load_error("", {});
}

template <class Net>
std::vector<double> output_of(Net& net, lm::tensor<typename Net::value_type, typename Net::input_shape> const& x) {
    auto y = net(x);
    return std::vector<double>(y.data(), y.data() + y.size());
}

/// The tensor named `name` of a file, converted to double.
std::vector<double> tensor_values(io::safetensors_file const& f, std::string const& name) {
    auto const* t = f.find(name);
    REQUIRE(t != nullptr);
    return f.read<double>(*t);
}

}  // namespace

// ---- state_dict ------------------------------------------------------------------------------

TEST_CASE("state_dict names the parameters as PyTorch does and lays weights out as (in, out)", "[safetensors]") {
    chapter_net net;
    auto sd = lm::state_dict(net);
    REQUIRE(sd.size() == 4);
    CHECK(sd[0].name == "0.weight");
    CHECK(sd[0].shape == std::vector<std::size_t>{64, 8});
    CHECK(sd[1].name == "0.bias");
    CHECK(sd[1].shape == std::vector<std::size_t>{8});
    CHECK(sd[2].name == "1.weight");
    CHECK(sd[2].shape == std::vector<std::size_t>{8, 1});
    CHECK(sd[3].name == "1.bias");
    CHECK(sd[3].shape == std::vector<std::size_t>{1});
    // Views of the net's own storage, row-major: weight[i][j] is input i's weight for unit j.
    sd[0].data[1 * 8 + 2] = 42.f;
    CHECK(lm::get<"0.weight">(net)(1, 2) == 42.f);
}

TEST_CASE("state_dict of a double net views doubles", "[safetensors]") {
    lm::Sequential<lm::InputOf<lm::shape<lm::dyn, 4>, double>, lm::Dense<3>> net;
    auto const& cnet = net;
    auto sd = lm::state_dict(cnet);
    static_assert(std::is_same_v<decltype(sd[0].data), std::span<double const>>);
    REQUIRE(sd.size() == 2);
    CHECK(sd[0].name == "0.weight");
    CHECK(sd[0].data.data() == lm::get<"0.weight">(net).data());
}

// ---- the format ------------------------------------------------------------------------------

TEST_CASE("A safetensors file lamina writes reads back with its names, dtypes, shapes and metadata", "[safetensors]") {
    std::vector<io::tensor_bytes> ts = {
        {"b", io::dtype::f64, {2}, le_bytes(std::vector<double>{0.5, -1e300})},
        {"a", io::dtype::f32, {2, 3}, le_bytes(std::vector<float>{1, 2, 3, 4, 5, 6})},
        {"empty", io::dtype::f32, {0, 3}, {}},
    };
    auto const b = io::serialize_safetensors(ts, {{"who", "test"}});
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = n << 8 | std::to_integer<std::uint64_t>(b[static_cast<std::size_t>(i)]);
    CHECK((8 + n) % 8 == 0);  // the data starts 8-byte aligned
    auto const f = parse(b, "x.safetensors");
    CHECK(f.path() == "x.safetensors");
    REQUIRE(f.tensors().size() == 3);
    CHECK(f.metadata() == std::map<std::string, std::string>{{"who", "test"}});
    auto const* a = f.find("a");
    REQUIRE(a != nullptr);
    CHECK(a->type == io::dtype::f32);
    CHECK(a->shape == std::vector<std::size_t>{2, 3});
    CHECK(f.read<float>(*a) == std::vector<float>{1, 2, 3, 4, 5, 6});
    CHECK(tensor_values(f, "b") == std::vector<double>{0.5, -1e300});
    CHECK(f.find("empty")->element_count() == 0);
    CHECK(f.find("c") == nullptr);
    CHECK_THROWS_MATCHES(io::serialize_safetensors(std::vector<io::tensor_bytes>{ts[1], ts[1]}), lm::error,
                         message_has({"\"a\"", "appears twice"}));
}

TEST_CASE("F16, BF16 and F64 values convert to float exactly as PyTorch converts them", "[safetensors]") {
    auto const f = io::read_safetensors(fixture("torch_conversions.safetensors"));
    for (std::string name : {"f16", "bf16", "f64"}) {
        INFO(name);
        auto const got = f.read<float>(*f.find(name));
        auto const want = f.read<float>(*f.find(name + "_as_f32"));
        REQUIRE(got.size() == want.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            INFO("element " << i << ": " << got[i] << " vs " << want[i]);
            CHECK((std::bit_cast<std::uint32_t>(got[i]) == std::bit_cast<std::uint32_t>(want[i]) ||
                   (std::isnan(got[i]) && std::isnan(want[i]))));
        }
        if (name != "f64") {  // half and bfloat16 values are exact in double too
            auto const d = f.read<double>(*f.find(name));
            for (std::size_t i = 0; i < d.size(); ++i)
                CHECK((d[i] == static_cast<double>(want[i]) || (std::isnan(d[i]) && std::isnan(want[i]))));
        }
    }
}

TEST_CASE("F16 and BF16 files load into a float net, F32 into a double net", "[safetensors]") {
    // 1.5, -2, 0.25 and 3 are exact in every dtype: 0x3e00 0xc000 0x3400 0x4200 (F16), the top
    // halves of the floats (BF16).
    auto const weight = [](std::string const& dtype, std::vector<std::uint16_t> const& bits) {
        bytes d;
        for (auto v : bits) d.push_back(static_cast<std::byte>(v & 0xff)), d.push_back(static_cast<std::byte>(v >> 8));
        return st_file(R"({"0.weight":{"dtype":")" + dtype + R"(","shape":[1,2],"data_offsets":[0,4]},)" +
                           R"("0.bias":{"dtype":")" + dtype + R"(","shape":[2],"data_offsets":[4,8]}})",
                       d);
    };
    lm::Sequential<lm::Input<1>, lm::Dense<2>> net;
    lm::load(net, parse(weight("F16", {0x3e00, 0xc000, 0x3400, 0x4200})));
    CHECK(values_of(net) == std::vector<double>{1.5, -2, 0.25, 3});
    lm::load(net, parse(weight("BF16", {0x3fc0, 0xc000, 0x3e80, 0x4040})));
    CHECK(values_of(net) == std::vector<double>{1.5, -2, 0.25, 3});

    temp_dir dir;
    lm::Sequential<lm::InputOf<lm::shape<lm::dyn, 1>, double>, lm::Dense<2>> twin;
    lm::get<"0.weight">(net)(0, 0) = 0.1f;
    lm::save(net, dir / "f.safetensors");
    auto const r = lm::load(twin, dir / "f.safetensors");  // the architecture leaves out the value type
    CHECK(r.architecture_matches);
    CHECK(values_of(twin) == values_of(net));  // float to double: exact
}

// ---- save and load ---------------------------------------------------------------------------

TEST_CASE("save then load restores every parameter exactly, in float and in double", "[safetensors]") {
    temp_dir dir;
    lm::generator g(5);
    chapter_net a, b;
    a.initialize(g);
    lm::save(a, dir / "net.safetensors");
    auto const r = lm::load(b, dir / "net.safetensors");
    CHECK(values_of(b) == values_of(a));
    CHECK(r.loaded == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias"});
    CHECK(r.complete());
    CHECK(r.file_architecture == "Sequential<Input<64>, MyDense<8>, MyDense<1>>");
    CHECK(dir.entries() == 1);  // no temporary file left

    lm::Sequential<lm::InputOf<lm::shape<lm::dyn, 3>, double>, lm::Dense<5>, lm::Dense<2>> c, d;
    c.initialize(g);
    lm::get<"0.weight">(c)(0, 0) = 1.0 / 3;
    lm::save(c, dir / "double.safetensors");
    CHECK(io::read_safetensors(dir / "double.safetensors").find("0.weight")->type == io::dtype::f64);
    lm::load(d, dir / "double.safetensors");
    CHECK(values_of(d) == values_of(c));

    lm::save(c, dir / "as_f32.safetensors", {.dtype = io::dtype::f32});
    CHECK(io::read_safetensors(dir / "as_f32.safetensors").find("0.weight")->type == io::dtype::f32);
    lm::load(d, dir / "as_f32.safetensors");
    CHECK(lm::get<"0.weight">(d)(0, 0) == static_cast<double>(1.0f / 3));
    CHECK_THROWS_MATCHES(lm::save(c, dir / "h.safetensors", {.dtype = io::dtype::f16}), lm::error,
                         message_has({"lamina::save", "h.safetensors", "F16", "F32 or F64"}));
}

TEST_CASE("The chapter's net loaded from PyTorch's state_dict gives PyTorch's outputs", "[safetensors]") {
    chapter_net net;
    auto const r = lm::load(net, fixture("torch_chapter_net.safetensors"));
    CHECK(r.complete());
    CHECK(r.file_architecture.empty());  // PyTorch's file: no architecture to check
    auto const ref = io::read_safetensors(fixture("torch_chapter_io.safetensors"));
    auto const in = tensor_values(ref, "input"), want = tensor_values(ref, "output");
    lm::tensor<float, lm::shape<lm::dyn, 64>> X(6);
    std::copy(in.begin(), in.end(), X.data());
    CHECK(differences(output_of(net, X), want, 1e-5, 1e-5) == "");
    std::size_t positive = 0;
    for (double v : want) positive += v > 0;
    CHECK(positive >= 4);  // the outputs are not all cut to zero
}

TEST_CASE("lamina's file of the PyTorch-loaded net is the committed fixture that PyTorch loads back", "[safetensors]") {
    // lamina_chapter_net.safetensors was saved (by a g++ build) from the net loaded from
    // torch_chapter_net.safetensors; safetensors_reference.py --check loads it into PyTorch.
    chapter_net from_torch, from_lamina;
    lm::load(from_torch, fixture("torch_chapter_net.safetensors"));
    auto const r = lm::load(from_lamina, fixture("lamina_chapter_net.safetensors"));
    CHECK(r.self_tested);
    CHECK(r.self_test_error <= 1e-6);
    CHECK(values_of(from_lamina) == values_of(from_torch));
    temp_dir dir;
    lm::save(from_torch, dir / "again.safetensors");
    auto const again = io::read_safetensors(dir / "again.safetensors");
    auto const fixed = io::read_safetensors(fixture("lamina_chapter_net.safetensors"));
    REQUIRE(again.tensors().size() == fixed.tensors().size());
    for (auto const& t : again.tensors()) {
        INFO(t.name);
        REQUIRE(fixed.find(t.name) != nullptr);
        CHECK(std::ranges::equal(again.bytes(t), fixed.bytes(*fixed.find(t.name))));
    }
    CHECK(again.metadata().at("lamina.architecture") == fixed.metadata().at("lamina.architecture"));
}

TEST_CASE("A file saved by a g++ build loads in a clang++ build: the architecture does not depend on the compiler",
          "[safetensors]") {
    mixed_net net;
    CHECK(lm::architecture(net) == "Sequential<Input<4>, Scale, Dense<3>, Dense<2, ReLU>, CenteredLayer>");
    CHECK(lm::architecture(lm::built<MyDense<3>, 5>{}) == "built<MyDense<3>, 5>");
    auto const r = lm::load(net, fixture("lamina_gcc_mixed_net.safetensors"));
    CHECK(r.architecture_matches);
    CHECK(r.self_tested);  // and the net computes, here, what it computed where it was saved
    CHECK(r.loaded.size() == 5);
}

TEST_CASE("Loading into another architecture fails and names both", "[safetensors]") {
    temp_dir dir;
    chapter_net mine;
    lm::save(mine, dir / "net.safetensors");
    // The same names and shapes, other layers.
    lm::Sequential<lm::Input<64>, lm::Dense<8, lm::ReLU>, lm::Dense<1, lm::ReLU>> other;
    auto const before = values_of(other);
    CHECK_THROWS_MATCHES(lm::load(other, dir / "net.safetensors"), lm::load_error,
                         message_has({"lamina::load", "net.safetensors", "Sequential<Input<64>, MyDense<8>, MyDense<1>>",
                                      "Sequential<Input<64>, Dense<8, ReLU>, Dense<1, ReLU>>", "check_architecture"}));
    CHECK(values_of(other) == before);
    auto const r = lm::load(other, dir / "net.safetensors", {.strict = false});
    CHECK_FALSE(r.architecture_matches);
    CHECK(r.loaded.size() == 4);
    CHECK(values_of(other) == values_of(mine));
    lm::load(other, dir / "net.safetensors", {.check_architecture = false});
    // Other layers whose tensors do not fit either: the error lists them as any failed load does.
    lm::Sequential<lm::Input<64>, lm::Dense<8>, lm::Dense<2>> wider;
    auto const e = load_error_of(wider, dir / "net.safetensors");
    CHECK_THAT(e, message_has({"Sequential<Input<64>, Dense<8>, Dense<2>>; its tensors do not fit the net either:",
                               "\"1.weight\" is [8, 2] in the net but [8, 1] in the file",
                               "\"1.bias\" is [2] in the net but [1] in the file", "loads the 2 parameters that fit"}));
    CHECK(e.report.mismatched.size() == 2);
    CHECK(e.report.missing.empty());
    CHECK(e.report.unexpected.empty());
}

TEST_CASE("A file of a newer lamina format is refused", "[safetensors]") {
    auto const b = io::serialize_safetensors(std::vector<io::tensor_bytes>{}, {{"lamina.format", "2"}});
    chapter_net net;
    CHECK_THROWS_MATCHES(lm::load(net, parse(b, "new.safetensors")), io::format_error,
                         message_has({"lamina::load", "new.safetensors", "format \"2\"", "reads format \"1\""}));
}

// ---- strict and non-strict -------------------------------------------------------------------

namespace {
// For the chapter net: 0.weight of another shape, 0.bias and 1.weight fit, 1.bias missing,
// 2.weight unexpected. No lamina metadata: as a file from elsewhere.
bytes partly_fitting() {
    std::vector<io::tensor_bytes> ts = {
        {"0.weight", io::dtype::f32, {64, 4}, le_bytes(std::vector<float>(256, 1.f))},
        {"0.bias", io::dtype::f32, {8}, le_bytes(std::vector<float>(8, 2.f))},
        {"1.weight", io::dtype::f64, {8, 1}, le_bytes(std::vector<double>(8, 3.0))},
        {"2.weight", io::dtype::f32, {3}, le_bytes(std::vector<float>(3, 4.f))},
    };
    return io::serialize_safetensors(ts);
}
}  // namespace

TEST_CASE("A strict load lists every missing key, unexpected key and shape mismatch, and changes nothing",
          "[safetensors]") {
    chapter_net net;
    auto const before = values_of(net);
    auto const e = load_error_of(net, parse(partly_fitting(), "partial.safetensors"));
    CHECK_THAT(e, message_has({"lamina::load", "\"partial.safetensors\" does not fit the net",
                               "1 parameter missing, 1 tensor the net does not have, 1 shape that differs:",
                               "missing from the file: \"1.bias\"", "not in the net: \"2.weight\"",
                               "\"0.weight\" is [64, 8] in the net but [64, 4] in the file",
                               "loads the 2 parameters that fit"}));
    CHECK(e.report.missing == std::vector<std::string>{"1.bias"});
    CHECK(e.report.unexpected == std::vector<std::string>{"2.weight"});
    REQUIRE(e.report.mismatched.size() == 1);
    CHECK(e.report.mismatched[0].found == std::vector<std::size_t>{64, 4});
    CHECK(values_of(net) == before);
}

TEST_CASE("A non-strict load loads the matching subset and reports the rest", "[safetensors]") {
    chapter_net net;
    auto const w0 = lm::get<"0.weight">(net)(0, 0);
    auto const b1 = lm::get<"1.bias">(net)(0);
    auto const r = lm::load(net, parse(partly_fitting()), {.strict = false});
    CHECK(r.loaded == std::vector<std::string>{"0.bias", "1.weight"});
    CHECK(r.missing == std::vector<std::string>{"1.bias"});
    CHECK(r.unexpected == std::vector<std::string>{"2.weight"});
    CHECK(r.mismatched.size() == 1);
    CHECK_FALSE(r.complete());
    CHECK(r.problems() == "  missing from the file: \"1.bias\"\n"
                          "  not in the net: \"2.weight\"\n"
                          "  \"0.weight\" is [64, 8] in the net but [64, 4] in the file\n");
    CHECK(lm::load_report{}.problems() == "");
    CHECK(lm::get<"0.bias">(net)(5) == 2.f);
    CHECK(lm::get<"1.weight">(net)(7, 0) == 3.f);  // F64 into float
    CHECK(lm::get<"0.weight">(net)(0, 0) == w0);
    CHECK(lm::get<"1.bias">(net)(0) == b1);
}

TEST_CASE("Tensors saved beside the parameters are skipped by a load that names their prefix", "[safetensors]") {
    temp_dir dir;
    chapter_net a, b;
    lm::save(a, dir / "net.safetensors",
             {.tensors = {{"extra.step", io::dtype::f64, {1}, le_bytes(std::vector<double>{3})}}});
    CHECK(tensor_values(io::read_safetensors(dir / "net.safetensors"), "extra.step") == std::vector<double>{3});
    CHECK_THROWS_MATCHES(lm::load(b, dir / "net.safetensors"), lm::load_error, message_has({"not in the net: \"extra.step\""}));
    auto const r = lm::load(b, dir / "net.safetensors", {.skip_prefix = "extra."});
    CHECK(r.complete());
    CHECK(values_of(b) == values_of(a));
    CHECK_THROWS_MATCHES(
        lm::save(a, dir / "clash.safetensors", {.tensors = {{"0.bias", io::dtype::f32, {8}, le_bytes(std::vector<float>(8))}}}),
        lm::error, message_has({"\"0.bias\" appears twice"}));
}

// ---- the load-time self-test -----------------------------------------------------------------

TEST_CASE("A stored reference batch is run at load, and a net that computes something else fails it unchanged",
          "[safetensors]") {
    temp_dir dir;
    lm::generator g(3);
    chapter_net a, b;
    a.initialize(g);
    auto X = lm::rand<lm::dyn, 64>(3, g);
    lm::save(a, dir / "net.safetensors", {.self_test_input = X});
    auto const r = lm::load(b, dir / "net.safetensors");
    CHECK(r.self_tested);
    CHECK(r.self_test_error == 0);
    CHECK_FALSE(lm::load(b, dir / "net.safetensors", {.self_test = false}).self_tested);

    // The same parameters but stored outputs that this forward does not give: the message names
    // the one furthest off (output 1), not the first.
    auto f = io::read_safetensors(dir / "net.safetensors");
    auto rec = nlohmann::json::parse(f.metadata().at("lamina.self_test"));
    double& y0 = rec["output"]["values"][0].get_ref<double&>();
    y0 = y0 * (1 + 1e-3) + 1e-3;
    double& y1 = rec["output"]["values"][1].get_ref<double&>();
    y1 = y1 * (1 + 1e-3) + 2e-3;
    auto meta = f.metadata();
    meta["lamina.self_test"] = rec.dump();
    std::vector<io::tensor_bytes> ts;
    for (auto const& t : f.tensors()) ts.push_back({t.name, t.type, t.shape, bytes(f.bytes(t).begin(), f.bytes(t).end())});
    write_bytes(dir / "other.safetensors", io::serialize_safetensors(ts, meta));
    chapter_net c;
    auto const before = values_of(c);
    CHECK_THROWS_MATCHES(lm::load(c, dir / "other.safetensors"), lm::load_error,
                         message_has({"lamina::load", "other.safetensors", "fails its self-test", "output 1 is",
                                      "/ (1 + |saved|), the largest of its 3 outputs, over the tolerance of 1e-05",
                                      "left as it was"}));
    CHECK(values_of(c) == before);
    CHECK(lm::load(c, dir / "other.safetensors", {.tolerance = 1e-2}).self_tested);
    CHECK(values_of(c) == values_of(a));

    CHECK_THROWS_MATCHES(lm::save(a, dir / "bad.safetensors", {.self_test_input = lm::rand<lm::dyn, 8>(2)}), lm::error,
                         message_has({"lamina::save", "bad.safetensors", "self_test_input has shape [2, 8]",
                                      "net takes (n, 64)"}));
    CHECK_FALSE(fs::exists(dir / "bad.safetensors"));
}

TEST_CASE("A load reaches the weights a frozen large layer keeps packed, and a failed one leaves them", "[safetensors]") {
    temp_dir dir;
    lm::generator g(4);
    using net_t = lm::Sequential<lm::Input<256>, lm::Dense<128, lm::ReLU>, lm::Dense<3>>;
    net_t a, b;
    a.initialize(g);
    lm::freeze(b);
    auto const X = lm::rand<lm::dyn, 256>(24, g);
    auto const out = [&](net_t& n) { return lamina_test::bits_of(n(X)); };
    auto const ya = out(a);
    auto const yb = out(b);
    CHECK(out(b) == yb);  // b keeps its weight packed
    REQUIRE(lm::get<"0.weight">(std::as_const(b)).packed_copy().holds(lm::get<"0.weight">(std::as_const(b)).stamp()));
    lm::save(a, dir / "net.safetensors", {.self_test_input = X});
    auto const r = lm::load(b, dir / "net.safetensors");  // its self-test runs b on the loaded values
    CHECK(r.self_test_error == 0);
    CHECK(out(b) == ya);
    CHECK(out(b) == ya);

    // A load that fails its self-test puts the old values back, and the forward sees them.
    net_t c;
    lm::freeze(c);
    auto const yc = out(c);
    CHECK(out(c) == yc);
    CHECK_THROWS_AS(lm::load(c, dir / "net.safetensors", {.tolerance = -1}), lm::load_error);
    CHECK(out(c) == yc);
    CHECK(out(c) == yc);
}

TEST_CASE("A malformed reference batch in a file is reported before the net changes", "[safetensors]") {
    auto const with = [](std::string const& self_test) {
        return io::serialize_safetensors(
            std::vector<io::tensor_bytes>{{"0.weight", io::dtype::f32, {1, 2}, le_bytes(std::vector<float>{1, 2})},
                                          {"0.bias", io::dtype::f32, {2}, le_bytes(std::vector<float>{3, 4})}},
            {{"lamina.self_test", self_test}});
    };
    lm::Sequential<lm::Input<1>, lm::Dense<2>> net;
    auto const before = values_of(net);
    CHECK_THROWS_MATCHES(lm::load(net, parse(with("{nope"), "r.safetensors")), io::format_error,
                         message_has({"r.safetensors", "\"lamina.self_test\" that is not valid JSON"}));
    CHECK_THROWS_MATCHES(
        lm::load(net, parse(with(R"({"input":{"shape":[1,3],"values":[1,2,3]},"output":{"shape":[1,2],"values":[1,2]}})"),
                            "r.safetensors")),
        io::format_error, message_has({"r.safetensors", "input shape [1, 3], which the net does not take"}));
    CHECK_THROWS_MATCHES(
        lm::load(net, parse(with(R"({"input":{"shape":[1,1],"values":[1]},"output":{"shape":[1,2],"values":[1]}})"),
                            "r.safetensors")),
        io::format_error, message_has({"r.safetensors", "has 1 output values for the shape [1, 2]"}));
    CHECK_THROWS_MATCHES(lm::load(net, parse(with(R"({"input":{"shape":[1,1],"values":[1]},"output":{}})"),
                                             "r.safetensors")),
                         io::format_error, message_has({"r.safetensors", "lacks \"output\""}));
    CHECK_THROWS_MATCHES(
        lm::load(net, parse(with(R"({"input":{"shape":[1,1],"values":[null]},"output":{"shape":[1,2],"values":[1,2]}})"),
                            "r.safetensors")),
        io::format_error, message_has({"r.safetensors", "input value that is not a finite number: null"}));
    CHECK(values_of(net) == before);
}

// ---- ties ------------------------------------------------------------------------------------

TEST_CASE("Tied parameters are saved once and tied again on load", "[safetensors]") {
    temp_dir dir;
    using net_t = lm::Sequential<lm::Input<4>, lm::Dense<4>, lm::Dense<4>>;
    net_t a, b;
    lm::share(a, "1.weight", "0.weight");
    lm::save(a, dir / "tied.safetensors");
    auto const f = io::read_safetensors(dir / "tied.safetensors");
    CHECK(f.find("1.weight") == nullptr);
    CHECK(f.metadata().at("lamina.ties") == R"({"1.weight":"0.weight"})");
    auto const r = lm::load(b, dir / "tied.safetensors");
    CHECK(r.tied == std::vector<std::pair<std::string, std::string>>{{"1.weight", "0.weight"}});
    CHECK(r.missing.empty());
    CHECK(lm::get<"1.weight">(b).data() == lm::get<"0.weight">(b).data());
    CHECK(values_of(b) == values_of(a));
    auto X = lm::rand<lm::dyn, 4>(2);
    CHECK(output_of(b, X) == output_of(a, X));
    // Loading into a net that is already tied so changes nothing more.
    CHECK(lm::load(b, dir / "tied.safetensors").tied.empty());
    // Into another architecture, where the tie cannot hold: the refusal says why the tied name
    // is missing, and the net keeps its values.
    lm::Sequential<lm::Input<4>, lm::Dense<4>, lm::Dense<3>> c;
    auto const before = values_of(c);
    CHECK_THROWS_MATCHES(lm::load(c, dir / "tied.safetensors"), lm::load_error,
                         message_has({"not of Sequential", "missing from the file: \"1.weight\"",
                                      "tied in the file: \"1.weight\" to \"0.weight\", which the net cannot: "
                                      "they differ in shape or value type"}));
    CHECK(values_of(c) == before);
}

TEST_CASE("A net's tied name loads only its owner's values: other values are an error, not dropped", "[safetensors]") {
    temp_dir dir;
    using net_t = lm::Sequential<lm::Input<4>, lm::Dense<4>, lm::Dense<4>>;
    net_t untied, tied;
    lm::generator g(5);
    untied.initialize(g);
    lm::save(untied, dir / "untied.safetensors");
    lm::share(tied, "1.weight", "0.weight");
    auto const before = values_of(tied);
    auto const e = load_error_of(tied, dir / "untied.safetensors");
    CHECK_THAT(e, message_has({"untied.safetensors\" does not fit the net",
                               "0 shapes that differ, 1 tied name with values of its own:",
                               "\"1.weight\" holds other values than \"0.weight\", and the net has one tensor for both"}));
    CHECK(e.report.conflicting == std::vector<std::pair<std::string, std::string>>{{"1.weight", "0.weight"}});
    CHECK(values_of(tied) == before);
    // Not strict: the owner's values load, and the report names the tensor left out.
    auto const r = lm::load(tied, dir / "untied.safetensors", {.strict = false});
    CHECK(r.conflicting == std::vector<std::pair<std::string, std::string>>{{"1.weight", "0.weight"}});
    CHECK(std::ranges::equal(lm::get<"1.weight">(tied), lm::get<"0.weight">(untied)));
    CHECK(lm::get<"1.weight">(tied).data() == lm::get<"0.weight">(tied).data());
    // A file that repeats the owner's values under the tied name (PyTorch's tied state_dict) loads.
    std::ranges::copy(lm::get<"0.weight">(untied), lm::get<"1.weight">(untied).begin());
    lm::save(untied, dir / "repeated.safetensors");
    auto const ok = lm::load(tied, dir / "repeated.safetensors");
    CHECK(ok.complete());
    auto X = lm::rand<lm::dyn, 4>(3);
    CHECK(output_of(tied, X) == output_of(untied, X));
}

// ---- atomic saves and file errors ------------------------------------------------------------

TEST_CASE("save replaces an existing file and leaves no temporary file", "[safetensors]") {
    temp_dir dir;
    write_bytes(dir / "net.safetensors", zeros(10));
    chapter_net net;
    lm::save(net, dir / "net.safetensors");
    CHECK(fs::file_size(dir / "net.safetensors") > 2116);
    CHECK(dir.entries() == 1);
    fs::path const cwd = fs::current_path();
    fs::current_path(dir.path);  // a bare file name: the current directory
    lm::save(net, "here.safetensors");
    fs::current_path(cwd);
    CHECK(fs::exists(dir / "here.safetensors"));
}

TEST_CASE("A save that fails while writing leaves the previous file byte for byte and no temporary file",
          "[safetensors]") {
    // Even root cannot write past RLIMIT_FSIZE: the write fails with EFBIG (SIGXFSZ ignored).
    temp_dir dir;
    auto const old = write_bytes(dir / "net.safetensors", bytes(600, std::byte{7}));
    chapter_net net;
    rlimit saved{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    auto const handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = saved;
    small.rlim_cur = 1000;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::string what;
    try {
        lm::save(net, old);
    } catch (lm::error const& e) {
        what = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, handler);
    CHECK_THAT(what, Catch::Contains("lamina::save") && Catch::Contains("net.safetensors") &&
                         Catch::Contains("cannot be written") && Catch::Contains(std::strerror(EFBIG)));
    CHECK(read_bytes(old) == bytes(600, std::byte{7}));
    CHECK(dir.entries() == 1);
}

TEST_CASE("A save killed at any moment leaves either the previous file or the new one", "[safetensors]") {
    temp_dir dir;
    using big_net = lm::Sequential<lm::Input<256>, lm::Dense<256>, lm::Dense<256>>;  // 0.5 MB a file
    lm::generator g(9);
    big_net a, b;
    a.initialize(g);
    b.initialize(g);
    lm::save(a, dir / "a.safetensors");
    lm::save(b, dir / "b.safetensors");
    auto const bytes_a = read_bytes(dir / "a.safetensors"), bytes_b = read_bytes(dir / "b.safetensors");
    auto const target = dir / "net.safetensors";
    lm::save(a, target);
    std::mt19937 rng(1);
    int changed = 0;
    for (int round = 0; round < 12; ++round) {
        pid_t const pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {  // saves b and a in turn until killed
            try {
                for (int i = 0;; ++i) lm::save(i % 2 ? a : b, target);
            } catch (...) {
            }
            _exit(1);
        }
        usleep(1000 + static_cast<useconds_t>(rng() % 20000));
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status));
        auto const now = read_bytes(target);
        CHECK((now == bytes_a || now == bytes_b));
        changed += now == bytes_b;
    }
    INFO("rounds that ended on the other net's file: " << changed);
    // The killed saves leave their temporary files (".net.safetensors.<pid>.<random>.tmp").
    for (auto const& e : fs::directory_iterator(dir.path)) {
        auto const n = e.path().filename().string();
        CHECK((n == "a.safetensors" || n == "b.safetensors" || n == "net.safetensors" ||
               (n.starts_with(".net.safetensors.") && n.ends_with(".tmp"))));
    }
}

TEST_CASE("A save into a directory that cannot be written names the file and the cause", "[safetensors]") {
    // Tests may run as root, whom permissions do not stop: the parent is a regular file instead.
    temp_dir dir;
    write_bytes(dir / "file", zeros(1));
    chapter_net net;
    CHECK_THROWS_MATCHES(lm::save(net, dir / "file" / "net.safetensors"), lm::error,
                         message_has({"lamina::save", "file/net.safetensors", "no temporary file can be created",
                                      std::strerror(ENOTDIR)}));
    CHECK_THROWS_MATCHES(lm::save(net, dir / "nowhere" / "net.safetensors"), lm::error,
                         message_has({"lamina::save", "nowhere/net.safetensors", std::strerror(ENOENT)}));
    // The target is a directory: the rename fails, and the temporary file goes.
    fs::create_directory(dir / "sub");
    write_bytes(dir / "sub" / "keep", zeros(1));
    CHECK_THROWS_MATCHES(lm::save(net, dir / "sub"), lm::error,
                         message_has({"lamina::save", "sub", "cannot be replaced by the new file"}));
    CHECK(dir.entries() == 2);
}

TEST_CASE("A file that does not exist, is a directory or cannot be read is named in the error", "[safetensors]") {
    temp_dir dir;
    chapter_net net;
    CHECK_THROWS_MATCHES(lm::load(net, dir / "none.safetensors"), lm::error,
                         message_has({"lamina::io::read_safetensors", "none.safetensors\" does not exist"}));
    CHECK_THROWS_MATCHES(lm::load(net, dir.path), lm::error, message_has({dir.path.string(), "is a directory"}));
    // /proc/self/mem opens but cannot be read at offset 0 (nothing is mapped there).
    CHECK_THROWS_MATCHES(io::read_safetensors("/proc/self/mem"), lm::error,
                         message_has({"\"/proc/self/mem\" cannot be read"}));
}

// ---- bad files: each a lamina::error naming the file and the problem ---------------------------

namespace {
std::string const one_f32 = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";

void check_bad(bytes const& b, std::initializer_list<std::string> parts) {
    CHECK_THROWS_MATCHES(parse(b), io::format_error, message_has(parts));
    chapter_net net;
    auto const before = values_of(net);
    temp_dir dir;
    write_bytes(dir / "bad.safetensors", b);
    CHECK_THROWS_AS(lm::load(net, dir / "bad.safetensors"), io::format_error);
    CHECK(values_of(net) == before);
}
}  // namespace

TEST_CASE("A file shorter than its 8-byte header length is reported as truncated", "[safetensors][bad]") {
    check_bad(zeros(5), {"lamina::io::read_safetensors", "\"bad.safetensors\" is truncated", "holds 5 bytes",
                         "fewer than the 8"});
    check_bad({}, {"bad.safetensors", "holds 0 bytes"});
}

TEST_CASE("A header length beyond the end of the file is reported", "[safetensors][bad]") {
    check_bad(st_file(one_f32, zeros(4), 1000),
              {"bad.safetensors", "declares a header of 1000 bytes but only", "bytes follow the header length"});
    check_bad(st_file("", {}, std::uint64_t(-2)), {"bad.safetensors", "declares a header of 18446744073709551614 bytes"});
}

TEST_CASE("Every truncation of a valid file is reported, never a crash", "[safetensors][bad]") {
    auto const full = st_file(one_f32, zeros(4));
    for (std::size_t n = 0; n < full.size(); ++n) {
        INFO("the first " << n << " bytes");
        CHECK_THROWS_AS(parse(bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n))), io::format_error);
    }
    CHECK_NOTHROW(parse(full));
}

TEST_CASE("A header that is not JSON, or not a JSON object of tensors, is reported", "[safetensors][bad]") {
    check_bad(st_file(R"({"x": {"dtype": "F32",)"), {"bad.safetensors", "not valid JSON", "parse error"});
    check_bad(st_file("[1, 2]"), {"bad.safetensors", "does not start with '{'"});
    check_bad(st_file("{}  x"), {"bad.safetensors", "not valid JSON"});
    check_bad(st_file(R"({"x": 3})"), {"bad.safetensors", "entry \"x\" that is not a JSON object"});
    check_bad(st_file(R"({"x":{"dtype":"F32","shape":[1]}})", zeros(4)), {"entry \"x\" without \"data_offsets\""});
    check_bad(st_file(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", zeros(4)),
              {"\"x\" whose \"shape\" is not a list of non-negative integers: [-1]"});
    check_bad(st_file(R"({"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", zeros(4)),
              {"\"shape\" is not a list of non-negative integers"});
    check_bad(st_file(R"({"__metadata__":{"a":1}})"), {"bad.safetensors", "metadata \"a\" whose value is not a string"});
    check_bad(st_file(R"({"__metadata__":[]})"), {"\"__metadata__\" entry that is not a JSON object"});
    check_bad(st_file(R"({"x":{"dtype":"F32","shape":[[[1]]],"data_offsets":[0,4]}})", zeros(4)),
              {"bad.safetensors", "nested deeper than a safetensors header is"});
    check_bad(st_file("{\"x\xff\":1}"), {"bad.safetensors", "not valid JSON"});  // not UTF-8
}

TEST_CASE("data_offsets out of range are reported", "[safetensors][bad]") {
    check_bad(st_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", zeros(4)),
              {"bad.safetensors", "\"x\" whose data_offsets [0, 8] reach past the 4 bytes of data"});
    check_bad(st_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", zeros(8)),
              {"\"x\" whose data_offsets [8, 4] end before they begin"});
    check_bad(st_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", zeros(8)),
              {"\"x\" whose \"data_offsets\" [0, 4, 8] are not two numbers"});
    check_bad(st_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}})", zeros(4)),
              {"\"data_offsets\" is not a list of non-negative integers"});
}

TEST_CASE("Tensors whose bytes overlap are reported", "[safetensors][bad]") {
    check_bad(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                      zeros(12)),
              {"bad.safetensors", "the tensors \"a\" [0, 8] and \"b\" [4, 12] whose bytes overlap"});
}

TEST_CASE("Gaps between tensors and bytes after the last are reported", "[safetensors][bad]") {
    check_bad(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                      zeros(12)),
              {"bad.safetensors", "leaves bytes 4 to 8 of its data unused, between \"a\" [0, 4] and \"b\" [8, 12]"});
    check_bad(st_file(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", zeros(8)),
              {"leaves bytes 0 to 4 of its data unused, before \"b\" [4, 8]"});
    check_bad(st_file(one_f32, zeros(6)), {"bad.safetensors", "has 2 bytes of data after its last tensor \"x\" [0, 4]"});
    check_bad(st_file("{}", zeros(3)), {"has 3 bytes of data but no tensor that claims them"});
}

TEST_CASE("An unknown dtype is reported", "[safetensors][bad]") {
    check_bad(st_file(R"({"x":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}})", zeros(4)),
              {"bad.safetensors", "the tensor \"x\" of unknown dtype \"F31\"", "BF16"});
    check_bad(st_file(R"({"x":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", zeros(4)), {"unknown dtype 7"});
}

TEST_CASE("A dtype lamina does not convert is reported with the key", "[safetensors][bad]") {
    auto const b = st_file(R"({"0.bias":{"dtype":"I64","shape":[8],"data_offsets":[0,64]}})", zeros(64));
    auto const f = parse(b, "ints.safetensors");  // a valid file
    chapter_net net;
    auto const before = values_of(net);
    CHECK_THROWS_MATCHES(lm::load(net, f, {.strict = false}), io::format_error,
                         message_has({"ints.safetensors", "\"0.bias\" of dtype I64", "converts F16, BF16, F32 and F64"}));
    CHECK(values_of(net) == before);
}

TEST_CASE("A shape whose size does not match its byte range is reported", "[safetensors][bad]") {
    check_bad(st_file(R"({"x":{"dtype":"F16","shape":[2,3],"data_offsets":[0,8]}})", zeros(8)),
              {"bad.safetensors", "\"x\" of shape [2, 3] and dtype F16, which takes 12 bytes, but its data_offsets "
                                  "[0, 8] span 8"});
}

TEST_CASE("A duplicate key is reported", "[safetensors][bad]") {
    check_bad(st_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                      R"("x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                      zeros(4)),
              {"bad.safetensors", "has the key \"x\" twice in its header"});
    check_bad(st_file(R"({"x":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}})", zeros(4)),
              {"has the key \"dtype\" twice in the header entry \"x\""});
}

TEST_CASE("A shape whose element count overflows is reported", "[safetensors][bad]") {
    check_bad(st_file(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
              {"bad.safetensors", "\"x\" of shape [4294967296, 4294967296] whose size in bytes overflows 64 bits"});
    check_bad(st_file(R"({"x":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})"),
              {"whose size in bytes overflows"});
    // A zero extent makes the count 0 whatever the others are.
    CHECK_NOTHROW(parse(st_file(R"({"x":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})")));
}

TEST_CASE("NaN and infinite values are reported with their key, and the net is left unchanged", "[safetensors][bad]") {
    lm::Sequential<lm::Input<1>, lm::Dense<2>> net;
    auto const before = values_of(net);
    auto const file = [](std::string const& dtype, bytes const& bias) {
        return parse(st_file(R"({"0.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},)"
                             R"("0.bias":{"dtype":")" + dtype + R"(","shape":[2],"data_offsets":[8,)" +
                                 std::to_string(8 + bias.size()) + "]}}",
                             [&] {
                                 auto b = le_bytes(std::vector<float>{1, 2});
                                 b.insert(b.end(), bias.begin(), bias.end());
                                 return b;
                             }()),
                     "nan.safetensors");
    };
    float const nan = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_MATCHES(lm::load(net, file("F32", le_bytes(std::vector<float>{0, nan}))), lm::error,
                         message_has({"lamina::load", "nan.safetensors", "holds NaN in \"0.bias\" at [1]",
                                      "allow_non_finite"}));
    CHECK_THROWS_MATCHES(lm::load(net, file("F16", {std::byte{0}, std::byte{0x7c}, std::byte{0}, std::byte{0}})),
                         lm::error, message_has({"holds inf in \"0.bias\" at [0]"}));
    CHECK_THROWS_MATCHES(lm::load(net, file("F64", le_bytes(std::vector<double>{1, -1e300}))), lm::error,
                         message_has({"holds -1e+300, beyond the range of float, in \"0.bias\" at [1]"}));
    CHECK(values_of(net) == before);
    lm::load(net, file("F32", le_bytes(std::vector<float>{0, nan})), {.allow_non_finite = true});
    CHECK(std::isnan(lm::get<"0.bias">(net)(1)));
}

TEST_CASE("save refuses NaN and infinite values, as stored, and leaves the previous file", "[safetensors][bad]") {
    temp_dir dir;
    auto const old = write_bytes(dir / "net.safetensors", bytes(600, std::byte{7}));
    lm::Sequential<lm::Input<2>, lm::Dense<3>> net;
    lm::get<"0.weight">(net)(1, 2) = -std::numeric_limits<float>::infinity();
    CHECK_THROWS_MATCHES(lm::save(net, old), lm::error,
                         message_has({"lamina::save", "net.safetensors", "\"0.weight\" holds -inf at [1, 2]",
                                      "nothing was written", "save_options{.allow_non_finite = true}"}));
    CHECK(read_bytes(old) == bytes(600, std::byte{7}));
    CHECK(dir.entries() == 1);
    // Written on request, and read back on request.
    lm::save(net, old, {.allow_non_finite = true});
    CHECK_THROWS_MATCHES(lm::load(net, old), lm::error, message_has({"holds -inf in \"0.weight\" at [1, 2]"}));
    lm::load(net, old, {.allow_non_finite = true});
    // A double that float cannot hold is refused when it would be stored as F32.
    lm::Sequential<lm::InputOf<lm::shape<lm::dyn, 2>, double>, lm::Dense<3>> wide;
    lm::get<"0.bias">(wide)(0) = 1e300;
    lm::save(wide, dir / "f64.safetensors");
    CHECK_THROWS_MATCHES(lm::save(wide, dir / "f32.safetensors", {.dtype = lm::io::dtype::f32}), lm::error,
                         message_has({"\"0.bias\" holds 1e+300, beyond the range of float, at [0]"}));
    CHECK(!fs::exists(dir / "f32.safetensors"));
}

TEST_CASE("Malformed lamina metadata is reported", "[safetensors][bad]") {
    lm::Sequential<lm::Input<4>, lm::Dense<4>, lm::Dense<4>> net;
    auto const before = values_of(net);
    auto const with_ties = [](std::string const& ties) {
        return parse(io::serialize_safetensors(std::vector<io::tensor_bytes>{}, {{"lamina.ties", ties}}), "t.safetensors");
    };
    CHECK_THROWS_MATCHES(lm::load(net, with_ties("[")), io::format_error,
                         message_has({"t.safetensors", "\"lamina.ties\" that is not valid JSON"}));
    CHECK_THROWS_MATCHES(lm::load(net, with_ties("[1]")), io::format_error, message_has({"not an object {alias: owner}"}));
    CHECK_THROWS_MATCHES(lm::load(net, with_ties(R"({"1.weight":2})")), io::format_error,
                         message_has({"entry \"1.weight\" is not a parameter name"}));
    CHECK_THROWS_MATCHES(lm::load(net, with_ties(R"({"1.weight":"9.weight"})")), lm::load_error,
                         message_has({"ties \"1.weight\" to \"9.weight\"", "has no parameter \"9.weight\""}));
    CHECK_THROWS_MATCHES(lm::load(net, with_ties(R"({"1.weight":"1.bias"})")), lm::load_error,
                         message_has({"differ in shape or value type"}));
    CHECK_THROWS_MATCHES(lm::load(net, with_ties(R"({"1.weight":"0.weight","0.weight":"1.weight"})")), lm::load_error,
                         message_has({"a tied parameter cannot be tied again"}));
    CHECK(values_of(net) == before);
    // Non-strict: the ties that cannot be made are left out, one consistent tie remains.
    CHECK(lm::load(net, with_ties(R"({"1.weight":"0.weight","0.weight":"1.weight"})"), {.strict = false}).tied.size() == 1);
}

// ---- the committed fixtures --------------------------------------------------------------------

TEST_CASE("Writes lamina's fixtures (by hand, from a g++ build: runtime_safetensors \"[.write_fixtures]\")",
          "[.write_fixtures]") {
#if defined(__clang__)
    FAIL("write the fixtures from a g++ build: the clang++ build checks that it reads them");
#else
    chapter_net net;
    lm::load(net, fixture("torch_chapter_net.safetensors"));
    auto const ref = io::read_safetensors(fixture("torch_chapter_io.safetensors"));
    auto const in = tensor_values(ref, "input");
    lm::tensor<float, lm::shape<lm::dyn, 64>> X(2);
    std::copy(in.begin(), in.begin() + 128, X.data());
    lm::save(net, fixture("lamina_chapter_net.safetensors"), {.self_test_input = X});

    lm::generator g(11);
    mixed_net mixed;
    mixed.initialize(g);
    lm::save(mixed, fixture("lamina_gcc_mixed_net.safetensors"), {.self_test_input = lm::randn<lm::dyn, 4>(3, g)});
    CHECK(fs::exists(fixture("lamina_gcc_mixed_net.safetensors")));
#endif
}

// Checkpoints (lamina/checkpoint.hpp): parameters and optimizer state in one file.
namespace {

using ckpt_net = lm::Sequential<lm::Input<4>, lm::Dense<8, lm::ReLU>, CenteredLayer, lm::Dense<3>>;

struct ckpt_data {
    lm::tensor<float, lm::shape<lm::dyn, 4>> x;
    std::vector<std::int32_t> y;
    ckpt_data() {
        lm::generator g(41);
        x = lm::tensor<float, lm::shape<lm::dyn, 4>>::randn(32, g);
        for (std::size_t i = 0; i < 32; ++i) y.push_back(static_cast<std::int32_t>(i % 3));
    }
};

template <class Opt>
float train_step(ckpt_net& net, Opt& opt, ckpt_data const& d) {
    net.train();
    float const loss = net.backward(lm::cross_entropy(net(d.x), d.y));
    opt.step();
    opt.zero_grad();
    return loss;
}

std::vector<float> values_of(ckpt_net& net) {
    std::vector<float> v;
    net.for_each_parameter([&](std::string_view, auto& p) { v.insert(v.end(), p.begin(), p.end()); });
    return v;
}

}  // namespace

TEST_CASE("A checkpoint restores parameters and optimizer state: the resumed run continues to the bit",
          "[checkpoint]") {
    temp_dir dir;
    ckpt_data const d;
    for (bool use_adam : {false, true}) {
        INFO((use_adam ? "adam" : "sgd with momentum"));
        auto run = [&](auto make_opt) {
            ckpt_net a;
            lm::generator g(42);
            a.initialize(g);
            auto oa = make_opt(a);
            for (int s = 0; s < 4; ++s) train_step(a, oa, d);
            lm::save_checkpoint(a, oa, dir / "run.safetensors", {{"epoch", "4"}});
            ckpt_net b;
            auto ob = make_opt(b);
            auto const meta = lm::load_checkpoint(b, ob, dir / "run.safetensors");
            CHECK(meta == std::map<std::string, std::string>{{"epoch", "4"}});
            CHECK(values_of(a) == values_of(b));
            for (int s = 0; s < 4; ++s) CHECK(train_step(a, oa, d) == train_step(b, ob, d));
            CHECK(values_of(a) == values_of(b));
        };
        if (use_adam) run([](ckpt_net& n) { return lm::optim::adam(n, {.lr = 0.01}); });
        else run([](ckpt_net& n) { return lm::optim::sgd(n, {.lr = 0.1, .momentum = 0.9}); });
    }
}

TEST_CASE("A checkpoint loads as a model file; a model file or another optimizer's checkpoint is refused, "
          "leaving net and optimizer as they were",
          "[checkpoint]") {
    temp_dir dir;
    ckpt_data const d;
    ckpt_net a;
    lm::optim::adam oa(a, {.lr = 0.01});
    train_step(a, oa, d);
    lm::save_checkpoint(a, oa, dir / "adam.safetensors");
    lm::save(a, dir / "model.safetensors");

    ckpt_net model;
    CHECK(lm::load(model, dir / "adam.safetensors", {.skip_prefix = "optimizer."}).complete());
    CHECK(values_of(model) == values_of(a));
    CHECK_THROWS_MATCHES(lm::load(model, dir / "adam.safetensors"), lm::load_error,
                         message_has({"optimizer.0.weight.exp_avg"}));

    ckpt_net b;
    lm::generator g(43);
    b.initialize(g);
    auto const before = values_of(b);
    lm::optim::sgd ob(b, {.lr = 0.1, .momentum = 0.9});
    CHECK_THROWS_MATCHES(lm::load_checkpoint(b, ob, dir / "model.safetensors"), lm::load_error,
                         message_has({"model.safetensors", "holds no optimizer state"}));
    CHECK_THROWS_MATCHES(lm::load_checkpoint(b, ob, dir / "adam.safetensors"), lm::load_error,
                         message_has({"adam.safetensors", "another optimizer"}));
    CHECK(values_of(b) == before);
    std::size_t with_steps = 0;
    ob.for_each_state([&](std::string_view, std::size_t& n, auto const&) { with_steps += n; });
    CHECK(with_steps == 0);
    CHECK_THROWS_MATCHES(lm::save_checkpoint(a, oa, dir / "x.safetensors", {{"optimizer.lr", "1"}}), lm::error,
                         message_has({"optimizer.lr", "lamina's own"}));
}

TEST_CASE("The exercise layers save and load like any parameter layer, self-test included", "[exercises]") {
    using exercise_net = lm::Sequential<lm::Input<8>, lm::TensorReduction<4>, lm::FourierHalf, lm::Dense<2>>;
    temp_dir dir;
    lm::generator g(44);
    exercise_net a, b;
    a.initialize(g);
    b.initialize(g);
    auto const x = lm::tensor<float, lm::shape<lm::dyn, 8>>::randn(5, g);
    lm::save(a, dir / "ex.safetensors", {.self_test_input = x});
    auto const file = io::read_safetensors(dir / "ex.safetensors");
    REQUIRE(file.find("0.weight") != nullptr);
    CHECK(file.find("0.weight")->shape == std::vector<std::size_t>{8, 8, 4});
    auto const report = lm::load(b, dir / "ex.safetensors");
    CHECK(report.complete());
    CHECK(report.self_tested);
    lm::tensor const ya(a(x)), yb(b(x));
    CHECK(differences(ya, yb, 0) == "");
}
