// Saving a JSON document (a receipt, an opening record) as a file the user keeps.

export function downloadJson(name, value) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' }));
  a.download = name;
  a.click();
  URL.revokeObjectURL(a.href);
}
