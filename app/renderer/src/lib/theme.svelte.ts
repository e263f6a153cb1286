// Light and dark themes: the system's choice unless the user picked one (kept in localStorage).

export type Theme = 'light' | 'dark'
const KEY = 'wholesum.theme'

function initial(): Theme {
  const saved = localStorage.getItem(KEY)
  if (saved === 'light' || saved === 'dark') return saved
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'
}

class ThemeState {
  current = $state<Theme>(initial())

  constructor() {
    document.documentElement.dataset['theme'] = this.current
  }

  set(theme: Theme): void {
    this.current = theme
    localStorage.setItem(KEY, theme)
    document.documentElement.dataset['theme'] = theme
  }

  toggle(): void {
    this.set(this.current === 'dark' ? 'light' : 'dark')
  }
}

export const theme = new ThemeState()
