// Opens Razorpay Standard Checkout with the options the pay page rendered. Razorpay then posts
// the result to the page callback (callback_url), which shows the order.
(function () {
  "use strict";
  var button = document.getElementById("razorpay-pay");
  var data = document.getElementById("razorpay-options");
  if (!button || !data || typeof window.Razorpay !== "function") {
    return;
  }
  var options = JSON.parse(data.textContent);
  button.addEventListener("click", function () {
    new window.Razorpay(options).open();
  });
})();
