// The dashboard's page script: formats numbers and times for the viewer (locale, time
// zone or UTC), draws the clicks-over-time chart with uPlot, and refreshes a young
// message's page. The pages work without it; it changes only how things are shown.
;(function () {
  'use strict'

  var UTC_KEY = 'smslinks.dashboard.utc'
  var PAUSE_KEY = 'smslinks.dashboard.refreshPaused'
  var REFRESH_MS = 15000

  function stored(key) {
    try {
      return window.localStorage.getItem(key) === '1'
    } catch {
      return false
    }
  }
  function store(key, on) {
    try {
      window.localStorage.setItem(key, on ? '1' : '0')
    } catch {
      // Storage can be off (private windows): the choice then lasts for this page only.
    }
  }

  var utc = stored(UTC_KEY)
  var count = new Intl.NumberFormat(undefined)
  var percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 2 })

  function formatNumbers() {
    document.querySelectorAll('[data-format][data-value]').forEach(function (el) {
      var raw = el.getAttribute('data-value')
      if (raw === '') return
      var value = Number(raw)
      el.textContent = el.getAttribute('data-format') === 'percent' ? percent.format(value) : count.format(value)
    })
  }

  function formatTimes() {
    var format = new Intl.DateTimeFormat(undefined, {
      dateStyle: 'medium',
      timeStyle: 'short',
      timeZone: utc ? 'UTC' : undefined,
    })
    var zone = utc ? 'UTC' : Intl.DateTimeFormat().resolvedOptions().timeZone
    document.querySelectorAll('time[datetime]').forEach(function (el) {
      el.textContent = format.format(new Date(el.getAttribute('datetime')))
      el.setAttribute('title', zone)
    })
    document.querySelectorAll('[data-time-zone-switch]').forEach(function (button) {
      button.textContent = utc ? 'Times: UTC' : 'Times: ' + zone
      button.setAttribute('aria-pressed', utc ? 'true' : 'false')
    })
  }

  var charts = []

  function drawCharts() {
    charts.forEach(function (chart) {
      chart.destroy()
    })
    charts = []
    if (typeof window.uPlot !== 'function') return
    document.querySelectorAll('[data-chart="clicks-over-time"]').forEach(function (el) {
      var times = JSON.parse(el.getAttribute('data-times') || '[]').map(function (ms) {
        return ms / 1000
      })
      var totals = JSON.parse(el.getAttribute('data-totals') || '[]')
      var options = {
        width: Math.max(280, el.clientWidth),
        height: 220,
        tzDate: function (ts) {
          return utc ? window.uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') : new Date(ts * 1000)
        },
        scales: { y: { range: [0, Math.max(1, totals[totals.length - 1] || 0)] } },
        legend: { show: false },
        series: [
          {},
          {
            label: 'Human clicks',
            stroke: '#0b5cad',
            fill: 'rgba(11, 92, 173, 0.12)',
            width: 2,
            paths: window.uPlot.paths.stepped({ align: 1 }),
            value: function (_u, v) {
              return v === null ? '' : count.format(v)
            },
          },
        ],
        axes: [
          {
            space: 70,
            values: function (u, ticks) {
              var range = u.scales.x.max - u.scales.x.min
              var format = new Intl.DateTimeFormat(undefined, {
                month: range > 86400 ? 'short' : undefined,
                day: range > 86400 ? 'numeric' : undefined,
                hour: '2-digit',
                minute: '2-digit',
                timeZone: utc ? 'UTC' : undefined,
              })
              return ticks.map(function (t) {
                return format.format(new Date(t * 1000))
              })
            },
          },
          {
            values: function (_u, ticks) {
              return ticks.map(function (t) {
                return count.format(t)
              })
            },
          },
        ],
      }
      el.textContent = ''
      charts.push(new window.uPlot(options, [times, totals], el))
    })
  }

  function refreshYoungPage() {
    var holder = document.querySelector('[data-refresh-until]')
    if (!holder) return
    var until = Number(holder.getAttribute('data-refresh-until'))
    var toggle = document.querySelector('[data-refresh-toggle]')
    var timer = null
    function schedule() {
      if (timer !== null) window.clearTimeout(timer)
      timer = null
      var paused = stored(PAUSE_KEY)
      if (toggle) toggle.textContent = paused ? 'Resume' : 'Pause'
      if (!paused && Date.now() < until) {
        timer = window.setTimeout(function () {
          window.location.reload()
        }, REFRESH_MS)
      }
    }
    if (toggle) {
      toggle.addEventListener('click', function () {
        store(PAUSE_KEY, !stored(PAUSE_KEY))
        schedule()
      })
    }
    schedule()
  }

  function start() {
    formatNumbers()
    formatTimes()
    drawCharts()
    refreshYoungPage()
    document.querySelectorAll('[data-time-zone-switch]').forEach(function (button) {
      button.addEventListener('click', function () {
        utc = !utc
        store(UTC_KEY, utc)
        formatTimes()
        drawCharts()
      })
    })
    var resizing = null
    window.addEventListener('resize', function () {
      window.clearTimeout(resizing)
      resizing = window.setTimeout(drawCharts, 150)
    })
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
  else start()
})()
