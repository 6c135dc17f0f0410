// Keyboard help for the SPARQL page's editor. The page works without it: this only
// adds Ctrl+Enter (Cmd+Enter on a Mac) to run the query from the editor.
(function () {
  "use strict";
  var editor = document.getElementById("query");
  if (!editor || !editor.form) {
    return;
  }
  editor.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (editor.form.requestSubmit) {
        editor.form.requestSubmit();
      } else {
        editor.form.submit();
      }
    }
  });
})();
