/* Partnerdesk admin: copy buttons, the wizard's live checks and its parameter table.
   Plain JavaScript; every page works without it, this only saves clicks and page loads.
   Its words go through gettext (the admin's pages load the English catalogue before it). */
"use strict";

(function () {
    // Like Python's urllib.parse.quote(value, safe="{}[]$_-.~%:"), as partners/tracking.py does.
    const SAFE = /[A-Za-z0-9_.\-~{}\[\]$%:]/;
    function quote(value) {
        return Array.from(value).map(function (ch) {
            if (SAFE.test(ch)) {
                return ch;
            }
            return encodeURIComponent(ch).replace(/[!'()*]/g, function (c) {
                return "%" + c.charCodeAt(0).toString(16).toUpperCase();
            });
        }).join("");
    }

    // The macro syntaxes of ad servers: {clickid}, [clickid], __CLICKID__, $clickid.
    const PARTNER_MACRO = /\{[^{}]+\}|\[[^\[\]]+\]|__[A-Za-z0-9_]+__|\$\w+/;
    function placeholderWarning(value) {
        const trimmed = value.trim();
        if (!trimmed || PARTNER_MACRO.test(trimmed)) {
            return "";
        }
        const warning = gettext(
            "\u201c%(value)s\u201d has no macro delimiters ({\u2026}, [\u2026], __\u2026__ or $\u2026): it is sent as a hard-coded value."
        );
        return interpolate(warning, {value: trimmed}, true);
    }

    function copyText(text) {
        if (navigator.clipboard && window.isSecureContext) {
            return navigator.clipboard.writeText(text);
        }
        const area = document.createElement("textarea");
        area.value = text;
        area.setAttribute("readonly", "");
        area.style.position = "fixed";
        area.style.opacity = "0";
        document.body.appendChild(area);
        area.select();
        document.execCommand("copy");
        area.remove();
        return Promise.resolve();
    }

    function setUpCopyButtons() {
        document.addEventListener("click", function (event) {
            const button = event.target.closest(".pd-copy");
            if (!button) {
                return;
            }
            const source = document.getElementById(button.dataset.copyTarget);
            copyText(source.textContent.trim()).then(function () {
                button.textContent = gettext("Copied");
                button.classList.add("pd-copied");
                setTimeout(function () {
                    button.textContent = gettext("Copy");
                    button.classList.remove("pd-copied");
                }, 1500);
            });
        });
    }

    function setUpReveal() {
        document.querySelectorAll("[data-pd-collapsed]").forEach(function (row) {
            row.classList.add("pd-collapsed");
        });
        document.querySelectorAll(".pd-reveal").forEach(function (link) {
            const target = document.getElementById(link.dataset.reveal);
            if (!target || !target.classList.contains("pd-collapsed")) {
                return;
            }
            link.hidden = false;
            link.addEventListener("click", function (event) {
                event.preventDefault();
                target.classList.remove("pd-collapsed");
                link.hidden = true;
                const input = target.querySelector("input, select, textarea");
                if (input) {
                    input.focus();
                }
            });
        });
    }

    // A secret's "Reveal" opens (and closes) every view of it on the page: the integration's
    // token field and its API URLs, which carry that token.
    function setUpRevealGroups() {
        document.querySelectorAll("details[data-pd-reveal-group]").forEach(function (details) {
            details.addEventListener("toggle", function () {
                const group = details.dataset.pdRevealGroup;
                document.querySelectorAll("details[data-pd-reveal-group]").forEach(function (other) {
                    if (other.dataset.pdRevealGroup === group && other.open !== details.open) {
                        other.open = details.open;
                    }
                });
            });
        });
    }

    function fillList(list, items) {
        list.replaceChildren.apply(list, items.map(function (text) {
            const item = document.createElement("li");
            item.textContent = text;
            return item;
        }));
        list.hidden = items.length === 0;
    }

    function setUpPostbackCheck() {
        const box = document.getElementById("pd-postback-check");
        if (!box) {
            return;
        }
        const source = document.getElementById(box.dataset.source);
        const errors = box.querySelector("[data-role=errors]");
        const warnings = box.querySelector("[data-role=warnings]");
        const preview = box.querySelector("[data-role=preview]");
        let timer = null;
        let latest = 0;
        function check() {
            const asked = ++latest;
            const url = box.dataset.endpoint + "?template=" + encodeURIComponent(source.value);
            fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
                .then(function (response) { return response.json(); })
                .then(function (answer) {
                    if (asked !== latest) {
                        return;  // An older answer arriving late must not overwrite a newer one.
                    }
                    fillList(errors, answer.errors);
                    fillList(warnings, answer.warnings);
                    preview.textContent = answer.preview || "\u2014";
                })
                .catch(function () { /* The server-side check on Next still applies. */ });
        }
        source.addEventListener("input", function () {
            clearTimeout(timer);
            timer = setTimeout(check, 250);
        });
    }

    function csrfToken() {
        const field = document.querySelector("input[name=csrfmiddlewaretoken]");
        if (field) {
            return field.value;
        }
        const cookie = document.cookie.split("; ").find(function (c) { return c.startsWith("csrftoken="); });
        return cookie ? decodeURIComponent(cookie.split("=")[1]) : "";
    }

    function showTestResult(box, answer) {
        const result = box.querySelector("[data-role=test-result]");
        const rows = answer.ok ? [
            [gettext("URL sent"), answer.url],
            [gettext("Status"), answer.status_code === null ? gettext("no answer") : String(answer.status_code)],
            [gettext("Time"), interpolate(gettext("%(duration)s ms"), {duration: answer.duration_ms}, true)],
            [
                answer.error ? gettext("Error") : gettext("Answer"),
                answer.error || answer.response_start || gettext("(empty)"),
            ],
        ] : [[gettext("Not sent"), answer.error]];
        const list = document.createElement("dl");
        list.className = "pd-dl";
        rows.forEach(function (row) {
            const term = document.createElement("dt");
            term.textContent = row[0];
            const value = document.createElement("dd");
            const code = document.createElement("code");
            code.textContent = row[1];
            value.appendChild(code);
            list.append(term, value);
        });
        result.replaceChildren(list);
        if (answer.ok && answer.delivery_url) {
            const link = document.createElement("a");
            link.href = answer.delivery_url;
            link.textContent = interpolate(gettext("Kept as test delivery #%(number)s"), {number: answer.delivery}, true);
            result.appendChild(link);
        }
        result.dataset.outcome = answer.ok ? answer.state : "refused";
        result.hidden = false;
    }

    // "Send a test": one POST to the box's endpoint (the URL as typed when the box names a field),
    // the answer shown next to the button. Nothing of the page's form is submitted or saved.
    function setUpTestSends() {
        document.addEventListener("click", function (event) {
            const button = event.target.closest(".pd-test-send");
            if (!button) {
                return;
            }
            event.preventDefault();
            const box = button.closest(".pd-test");
            const body = new FormData();
            if (box.dataset.source) {
                body.append("url", document.getElementById(box.dataset.source).value);
            }
            if (box.dataset.partner) {
                body.append("partner", box.dataset.partner);
            }
            const label = button.textContent;
            button.disabled = true;
            button.textContent = gettext("Sending\u2026");
            fetch(box.dataset.endpoint, {
                method: "POST",
                body: body,
                credentials: "same-origin",
                headers: {"Accept": "application/json", "X-CSRFToken": csrfToken()},
            })
                .then(function (response) {
                    return response.json().catch(function () {
                        const error = interpolate(
                            gettext("The server answered %(status)s; try again."), {status: response.status}, true
                        );
                        return {ok: false, error: error};
                    });
                })
                .catch(function () {
                    return {ok: false, error: gettext("The server could not be reached; try again.")};
                })
                .then(function (answer) {
                    showTestResult(box, answer);
                    button.disabled = false;
                    button.textContent = label;
                });
        });
    }

    function setUpParameterTable() {
        const table = document.getElementById("pd-params");
        if (!table) {
            return;
        }
        const prefix = table.dataset.prefix;
        const total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
        const maxForms = parseInt(document.getElementById("id_" + prefix + "-MAX_NUM_FORMS").value, 10);
        const template = document.getElementById("pd-param-template");
        const addButton = document.getElementById("pd-add-param");
        const urls = document.getElementById("pd-urls");

        function rows() {
            return Array.from(table.tBodies[0].rows);
        }
        function field(row, suffix) {
            return row.querySelector("[name$='-" + suffix + "']");
        }
        function update() {
            const click = [];
            const impression = [];
            rows().forEach(function (row) {
                const removed = field(row, "DELETE") && field(row, "DELETE").checked;
                row.classList.toggle("pd-removed", Boolean(removed));
                const placeholder = field(row, "placeholder");
                const warning = row.querySelector("[data-role=placeholder-warning]");
                const text = placeholderWarning(placeholder.value);
                warning.textContent = text;
                warning.hidden = !text;
                const name = field(row, "name").value;
                if (!name || removed || row.classList.contains("pd-collapsed")) {
                    return;
                }
                const pair = quote(name) + "=" + quote(placeholder.value.trim());
                if (field(row, "in_click").checked) {
                    click.push(pair);
                }
                if (field(row, "in_impression").checked) {
                    impression.push(pair);
                }
            });
            const base = urls.dataset.base;
            const code = urls.dataset.code;
            document.getElementById("pd-click-url").textContent =
                base + "/c/" + code + (click.length ? "?" + click.join("&") : "");
            document.getElementById("pd-impression-url").textContent =
                base + "/i/" + code + (impression.length ? "?" + impression.join("&") : "");
        }
        function addRow() {
            const hidden = table.querySelector(".pd-extra-row.pd-collapsed");
            if (hidden) {
                hidden.classList.remove("pd-collapsed");
                field(hidden, "name").focus();
                return;
            }
            const count = parseInt(total.value, 10);
            if (count >= maxForms) {
                return;
            }
            const html = template.innerHTML.replace(/__prefix__/g, String(count));
            table.tBodies[0].insertAdjacentHTML("beforeend", html);
            total.value = String(count + 1);
            const row = rows()[rows().length - 1];
            row.classList.remove("pd-extra-row");
            field(row, "name").focus();
            update();
        }

        // Blank extra rows wait behind the Macro button; without script they stay visible.
        table.querySelectorAll(".pd-extra-row").forEach(function (row) {
            row.classList.add("pd-collapsed");
        });
        addButton.hidden = false;
        addButton.addEventListener("click", addRow);
        table.addEventListener("input", update);
        table.addEventListener("change", update);
        update();
    }

    document.addEventListener("DOMContentLoaded", function () {
        setUpCopyButtons();
        setUpReveal();
        setUpRevealGroups();
        setUpPostbackCheck();
        setUpParameterTable();
        setUpTestSends();
    });
})();
