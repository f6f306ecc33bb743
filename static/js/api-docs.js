// Swagger UI for /api/v1/docs. Started from this file, not from an inline script: the CSP
// (script-src 'self') forbids those. The page names the OpenAPI document in data-spec-url.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    // no "valid" badge fetched from validator.swagger.io: the page loads nothing from elsewhere
    validatorUrl: null,
  });
}());
