// The renderer's entry: the app mounted on the page's one element.

import { mount } from 'svelte'
import App from './App.svelte'
import './app.css'

mount(App, { target: document.getElementById('app')! })
