/* /docs: Swagger UI (vendored, see vendor/README.md) over the app's OpenAPI document.
   No request leaves the server: the online validator is off. "Try it out" sends the page's
   CSRF token, as every other page script does. */
(function () {
  "use strict";
  var box = document.getElementById("swagger-ui");
  if (!box || typeof SwaggerUIBundle === "undefined") { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]');
  SwaggerUIBundle({
    url: box.getAttribute("data-spec"),
    domNode: box,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    deepLinking: false,
    defaultModelsExpandDepth: 0,
    requestInterceptor: function (req) {
      req.headers["X-CSRF-Token"] = csrf ? csrf.getAttribute("content") : "";
      req.credentials = "same-origin";
      return req;
    }
  });
})();
