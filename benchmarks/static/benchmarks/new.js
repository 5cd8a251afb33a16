// The run form: "Add a target" adds a provider+model row (Django's formset: the empty form's
// __prefix__ becomes the next index, and TOTAL_FORMS counts it).
const add = document.getElementById("add-target");
const template = document.getElementById("target-template");
const total = document.getElementById("id_target-TOTAL_FORMS");
const MAX = 10;

function refresh() {
  add.disabled = Number(total.value) >= MAX;
}

add.addEventListener("click", () => {
  const index = Number(total.value);
  if (index >= MAX) return;
  const row = document.createElement("div");
  row.className = "target-row";
  row.dataset.index = String(index);
  row.innerHTML = template.innerHTML.replaceAll("__prefix__", String(index)).replaceAll("__number__", String(index + 1));
  add.closest("p").before(row);
  total.value = String(index + 1);
  refresh();
  row.querySelector("select").focus();
});
refresh();
