// Interop with xtensor: adapt its containers without copying, evaluate its expressions into
// lamina tensors, and hand lamina data to xtensor as views or copies.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>

#include "lamina/error.hpp"
#include "lamina/tensor.hpp"

namespace lamina {

namespace detail {

template <class S, class Ext>
void check_extents(Ext const& ext, char const* what) {
    if (ext.size() != S::rank)
        throw shape_error(std::string(what) + ": an xtensor of rank " + std::to_string(ext.size()) +
                          " cannot be viewed with shape " + S::str());
    for (std::size_t d = 0; d < S::rank; ++d)
        if (!(d == 0 && S::dynamic) && ext[d] != S::extents[d])
            throw shape_error(std::string(what) + ": axis " + std::to_string(d) + " has extent " +
                              std::to_string(ext[d]) + " but the shape " + S::str() + " needs " +
                              std::to_string(S::extents[d]));
}

}  // namespace detail

/// A view of an xtensor container's memory with static shape S: no copy. Throws
/// lamina::shape_error when the extents differ or the data is not row-major contiguous.
template <class S, class X>
auto adapt(X& x) {
    using T = std::remove_const_t<typename std::remove_cvref_t<X>::value_type>;
    using P = std::conditional_t<std::is_const_v<X>, T const, T>;
    detail::check_extents<S>(x.shape(), "lamina::adapt");
    if (x.layout() != xt::layout_type::row_major)
        throw shape_error("lamina::adapt: the xtensor is not row-major contiguous; evaluate it with from_xtensor");
    return tensor_view<P, S>(x.data(), S::rank ? x.shape()[0] : 1);
}

/// A new lamina tensor holding the values of any xtensor expression of shape S.
template <class S, class E>
auto from_xtensor(E const& e) {
    using T = detail::float_of<typename E::value_type>;
    detail::check_extents<S>(e.shape(), "lamina::from_xtensor");
    xt::xtensor<T, S::rank> dense = e;  // evaluates lazily built expressions once
    tensor<T, S> t(tensor_view<T const, S>(dense.data(), S::rank ? dense.shape()[0] : 1));
    return t;
}

/// An xtensor view of lamina data: no copy, valid while the data lives.
template <class D, class T, class S>
auto as_xtensor(tensor_base<D, T, S>& t) {
    auto& d = static_cast<D&>(t);
    return xt::adapt(d.data(), d.size(), xt::no_ownership(), d.extents());
}
template <class D, class T, class S>
auto as_xtensor(tensor_base<D, T, S> const& t) {
    auto const& d = static_cast<D const&>(t);
    return xt::adapt(d.data(), d.size(), xt::no_ownership(), d.extents());
}

/// A copy as an xt::xtensor.
template <class D, class T, class S>
xt::xtensor<std::remove_const_t<T>, S::rank> to_xtensor(tensor_base<D, T, S> const& t) {
    return as_xtensor(t);
}

}  // namespace lamina
