console.log('weft: CLI under construction');
