// Repeated evaluations reuse their memory: a Sequential called again with the same batch, and
// assign() with a warm workspace, allocate nothing. The global operator new is counted (see
// count_new.cpp), so this file has an executable of its own.
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "count_new.hpp"
#include "support.hpp"
#include "chapter_layers.hpp"

namespace lm = lamina;
using lamina_test::allocations;
using lamina_test::differences;

namespace {

/// A layer whose expression needs two intermediates in the workspace (two products, one
/// inside a reduction), as a user may well write.
template <std::size_t Units>
struct TwoProducts {
    template <std::size_t In>
    struct build {
        BOOST_HANA_DEFINE_STRUCT(build, (lm::param<lm::init::normal, In, Units>, weight));
        auto operator()(auto const& x) const {
            return lm::relu(lm::matmul(x, weight)) - lm::mean(lm::relu(lm::matmul(x, weight)));
        }
    };
};

/// A layer whose expression needs one intermediate: a per-row mean.
struct RowCentered {
    auto operator()(auto const& x) const { return x - lm::mean(x, lm::axis<-1>, lm::keepdim); }
};

template <class T, class S>
lm::tensor<std::remove_const_t<T>, S> copy_of(lm::tensor_view<T, S> const& v) {
    return lm::tensor<std::remove_const_t<T>, S>(v);
}

// Calls net(x) `calls` times; returns how many allocations each call made.
template <class Net, class X>
std::vector<long> allocations_per_call(Net& net, X const& x, int calls) {
    std::vector<long> counts;
    counts.reserve(static_cast<std::size_t>(calls));
    for (int i = 0; i < calls; ++i) {
        long const before = allocations();
        net(x);
        counts.push_back(allocations() - before);
    }
    return counts;
}

// After a first call that may allocate, every later call with the same batch allocates nothing
// and gives the first call's output.
template <class Net, class X>
void check_no_allocation(Net& net, X const& x) {
    auto const first = copy_of(net(x));
    auto const counts = allocations_per_call(net, x, 4);
    INFO("batch " << x.batch());
    CHECK(counts == std::vector<long>(4, 0));
    CHECK(differences(net(x), first, 0) == "");
}

}  // namespace

TEST_CASE("The allocation counter sees the allocations lamina makes", "[allocation]") {
    long const before = allocations();
    auto t = lm::tensor<float, lm::shape<lm::dyn, 8>>::zeros(4);
    CHECK(allocations() - before == 1);
    CHECK(t.size() == 32);
}

TEST_CASE("Blocks of 4 MiB and more start on a 2 MiB boundary (huge pages), smaller ones on 64 bytes",
          "[allocation]") {
    auto const offset = [](void const* p, std::size_t a) { return reinterpret_cast<std::uintptr_t>(p) % a; };
    for (std::size_t n : {std::size_t{1}, std::size_t{1000}, (std::size_t{4} << 20) - 1}) {
        auto p = lm::detail::aligned_alloc<std::byte>(n);
        CHECK(offset(p.get(), 64) == 0);
        CHECK(p.get_deleter().align == 64);
    }
    for (std::size_t n : {std::size_t{4} << 20, std::size_t{188} << 20}) {
        auto p = lm::detail::aligned_alloc<std::byte>(n);
        CHECK(offset(p.get(), std::size_t{2} << 20) == 0);
        CHECK(p.get_deleter().align == std::size_t{2} << 20);
        p[n - 1] = std::byte{1};  // the whole block is there
    }
    // A tensor of Fashion-MNIST's size: its values follow the 64 bytes of its stamp.
    auto t = lm::tensor<float, lm::shape<lm::dyn, 784>>::empty(60000);
    CHECK(t.batch() == 60000);
    CHECK(offset(t.data(), std::size_t{2} << 20) == 64);
}

TEST_CASE("Repeated calls of a net with the same batch do not allocate", "[allocation][sequential]") {
    lm::generator g(71);
    lm::Sequential<lm::Input<8>, lm::Dense<128, lm::ReLU>, lm::Centered, lm::Dense<4>> net;
    for (std::size_t B : {1, 16, 64}) check_no_allocation(net, lm::rand<lm::dyn, 8>(B, g));
}

TEST_CASE("Repeated calls of a net whose GEMM packs its weights do not allocate", "[allocation][sequential]") {
    lm::generator g(72);
    lm::Sequential<lm::Input<300>, lm::Dense<300, lm::ReLU>, lm::Centered, MyDense<17>> net;
    check_no_allocation(net, lm::rand<lm::dyn, 300>(20, g));
}

TEST_CASE("Repeated calls of a net given an expression as input do not allocate", "[allocation][sequential]") {
    lm::generator g(73);
    lm::Sequential<lm::Input<8>, lm::Dense<16, lm::ReLU>, RowCentered> net;
    auto x = lm::rand<lm::dyn, 8>(13, g);
    auto const first = copy_of(net(x * 2 + 1));
    std::vector<long> counts;
    for (int i = 0; i < 4; ++i) {
        long const before = allocations();
        net(x * 2 + 1);
        counts.push_back(allocations() - before);
    }
    CHECK(counts == std::vector<long>(4, 0));
    CHECK(differences(net(x * 2 + 1), first, 0) == "");
}

TEST_CASE("Repeated calls of a net whose layer needs two workspace intermediates do not allocate",
          "[allocation][sequential]") {
    lm::generator g(74);
    lm::Sequential<lm::Input<8>, TwoProducts<16>> net;
    check_no_allocation(net, lm::rand<lm::dyn, 8>(16, g));
}

TEST_CASE("A net called with a larger batch and back gives the same output and stops allocating again",
          "[allocation][sequential]") {
    lm::generator g(75);
    lm::Sequential<lm::Input<8>, lm::Dense<32, lm::ReLU>, lm::Centered, lm::Dense<4>> net;
    auto small = lm::rand<lm::dyn, 8>(5, g);
    auto large = lm::rand<lm::dyn, 8>(64, g);
    auto const first_small = copy_of(net(small));
    auto const first_large = copy_of(net(large));
    CHECK(differences(net(small), first_small, 0) == "");
    CHECK(allocations_per_call(net, small, 3) == std::vector<long>(3, 0));  // shrinking keeps capacity
    CHECK(differences(net(large), first_large, 0) == "");
    CHECK(allocations_per_call(net, large, 3) == std::vector<long>(3, 0));
    CHECK(differences(net(small), first_small, 0) == "");
}

TEST_CASE("Repeated assign() of an expression into the same workspace does not allocate after the first",
          "[allocation][eval]") {
    lm::generator g(76);
    auto X = lm::rand<lm::dyn, 8>(16, g);
    auto W = lm::rand<8, 16>(g);
    lm::tensor<float, lm::shape<lm::dyn, 16>> out(16);
    lm::detail::workspace ws;
    auto assign = [&] { lm::assign(out.view(), lm::relu(lm::matmul(X, W)) - lm::mean(lm::relu(lm::matmul(X, W))), ws); };
    assign();
    lm::tensor const first = out;
    std::vector<long> counts;
    for (int i = 0; i < 4; ++i) {
        long const before = allocations();
        assign();
        counts.push_back(allocations() - before);
    }
    CHECK(counts == std::vector<long>(4, 0));
    CHECK(differences(out, first, 0) == "");
}

TEST_CASE("A training step (forward, loss, backward, optimizer step) allocates nothing once the batch is known",
          "[allocation][training]") {
    // The main job's net, smaller: the chapter's layers, a linear output, a fused loss.
    lm::Sequential<lm::Input<40>, MyDense<32>, CenteredLayer, MyDense<16>, TwoProducts<8>, RowCentered, lm::Dense<5>> net;
    lm::generator g(5);
    net.initialize(lm::init::uniform_fan_in{}, g);
    lm::optim::adam opt(net, {.lr = 1e-3});
    std::vector<std::int32_t> labels(13);
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>(i % 5);
    auto const x = lm::rand<lm::dyn, 40>(13, g);
    net.train();
    auto step = [&] {
        auto Y = net(x);
        float const loss = net.backward(lm::cross_entropy(Y, labels));
        opt.step();
        net.zero_grad();
        return loss;
    };
    float first = step();  // may allocate: the workspace, the gradients' buffers, Adam's moments
    std::vector<long> counts;
    for (int i = 0; i < 4; ++i) {
        long const before = allocations();
        float const loss = step();
        counts.push_back(allocations() - before);
        CHECK(loss < first);  // and it learns
        first = loss;
    }
    CHECK(counts == std::vector<long>(4, 0));
}
