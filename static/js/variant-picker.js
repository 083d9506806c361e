// The product page's option picker, in place: picking an option shows that variant's price, MRP,
// stock and image, sets the cart form's variant_id, and makes the address bar the variant's own URL.
// Without JavaScript the picker is a GET form and the server does the same on reload.
(function () {
  "use strict";

  function init() {
    var blob = document.getElementById("variant-data");
    var form = document.querySelector("[data-testid='variant-picker']");
    if (!blob || !form) {
      return;
    }
    var data = JSON.parse(blob.textContent);
    var selects = Array.prototype.slice.call(form.querySelectorAll("select[data-option-index]"));
    var byKey = {};
    data.variants.forEach(function (variant) {
      byKey[variant.options.join("\u0000")] = variant;
    });

    function one(selector) {
      return document.querySelector(selector);
    }

    function setText(selector, text) {
      var node = one(selector);
      if (node) {
        node.textContent = text;
      }
    }

    function setHidden(selector, hidden) {
      var node = one(selector);
      if (node) {
        node.hidden = hidden;
      }
    }

    function picked() {
      return selects.map(function (select) {
        return select.value;
      });
    }

    function variantFor(values) {
      return byKey[values.join("\u0000")] || null;
    }

    // Each value says what picking it, with the other values kept, would give.
    function relabel(values) {
      selects.forEach(function (select, index) {
        Array.prototype.forEach.call(select.options, function (option) {
          var combination = values.slice();
          combination[index] = option.value;
          var variant = variantFor(combination);
          var state = variant === null ? "unavailable" : variant.stock > 0 ? "" : "sold out";
          option.dataset.state = state;
          option.textContent = option.value + (state ? " (" + state + ")" : "");
        });
      });
    }

    function showQuantities(stock) {
      var quantity = one("[data-variant-quantity]");
      if (!quantity) {
        return;
      }
      var wanted = Math.min(Number(quantity.value) || 1, Math.max(stock, 1));
      quantity.textContent = "";
      for (var n = 1; n <= Math.min(stock, data.max_quantity); n += 1) {
        var option = document.createElement("option");
        option.value = String(n);
        option.textContent = String(n);
        option.selected = n === wanted;
        quantity.appendChild(option);
      }
    }

    function show(variant) {
      var stock = one("[data-variant-stock]");
      var buyForm = one("[data-buy-form]");
      if (variant === null) {
        if (stock) {
          stock.className = "stock out-of-stock";
          stock.textContent = "This combination is not available. Pick another.";
        }
        setHidden("[data-buy-form]", true);
        setHidden("[data-buy-sold-out]", false);
        return;
      }
      setText("[data-variant-price]", variant.price);
      setText("[data-variant-mrp]", variant.mrp ? "MRP " + variant.mrp : "");
      setText("[data-variant-discount]", variant.discount_percent + "% off");
      setHidden("[data-variant-mrp]", !variant.discount_percent);
      setHidden("[data-variant-discount]", !variant.discount_percent);
      setText("[data-variant-sku]", variant.sku);
      if (stock) {
        stock.className = "stock " + (variant.stock > 0 ? "in-stock" : "out-of-stock");
        stock.textContent =
          variant.stock <= 0 ? "Out of stock" : variant.low_stock ? "Only " + variant.stock + " left" : "In stock";
      }
      var image = one("[data-testid='main-image']");
      if (image && variant.image) {
        image.src = variant.image;
        image.alt = variant.image_alt;
      }
      var url = new URL(window.location.href);
      url.search = "?variant=" + variant.id;
      url.hash = "";
      if (buyForm) {
        one("[data-variant-id]").value = String(variant.id);
        one("[data-variant-next]").value = url.pathname + url.search;
        showQuantities(variant.stock);
      }
      setHidden("[data-buy-form]", variant.stock <= 0);
      setHidden("[data-buy-sold-out]", variant.stock > 0);
      window.history.replaceState(null, "", url.pathname + url.search + window.location.hash);
    }

    selects.forEach(function (select) {
      select.addEventListener("change", function () {
        var values = picked();
        relabel(values);
        show(variantFor(values));
      });
    });
    setHidden("[data-variant-submit]", true);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
